// A session's life in a request: saved before a redirect, regenerated, destroyed, discarded, and taken over once by
// the callback (takeOverSession: the replay guard that lets one state be redeemed by one request only, on any instance).
import type { Request } from 'express';
import { DatabaseSessionStore } from './session-store.ts';

/** Writes the session to the store now (before a redirect leaves the app). */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((error) => (error ? reject(error) : resolve())));
}

/** Replaces the session id and data with a fresh, empty session; the old id is dead in the store. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
}

/** Deletes the session from the store. */
export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * The callback's replay guard. Ends this session in the store unless another request (on any instance) ended it first, and gives the request
 * a fresh session (new id) with the same data. Returns false, changing nothing, when it lost that race.
 */
export async function takeOverSession(req: Request): Promise<boolean> {
  const store = req.sessionStore;
  if (!(store instanceof DatabaseSessionStore)) throw new Error('sessions must live in the DatabaseSessionStore');
  const { cookie: _cookie, ...data } = req.session;
  if (!(await store.takeOver(req.sessionID))) return false;
  req.sessionStore.generate(req);
  Object.assign(req.session, data);
  return true;
}

/** Leaves this request without a session: express-session then saves nothing and sets no cookie. */
export function discardSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}
