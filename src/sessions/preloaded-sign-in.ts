import type { Request } from 'express';
import type { PreloadedSignIn } from '../tokens/token-store.ts';

// Keyed by the request object: an entry lives as long as its request, and nothing is shared between requests.
const preloaded = new WeakMap<Request, PreloadedSignIn>();

/** Keeps the sign-in read together with this request's session row (see PrismaSessionStore). */
export function rememberPreloadedSignIn(req: Request, signIn: PreloadedSignIn): void {
  preloaded.set(req, signIn);
}

/** The sign-in read with this request's session, when it belongs to `userId`; undefined means: read it yourself. */
export function takePreloadedSignIn(req: Request, userId: string): PreloadedSignIn | undefined {
  const signIn = preloaded.get(req);
  preloaded.delete(req);
  return signIn?.userId === userId ? signIn : undefined;
}
