import crypto from 'node:crypto';
import { equalInConstantTime } from '../constant-time.ts';

/** A sign-in started by /connect and not yet finished: kept only in the server-side session. */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A pending sign-in is good for this long (the state's lifetime). */
export const PENDING_SIGN_IN_MS = 10 * 60 * 1000;
/** At most this many sign-ins may be pending in one browser (several tabs); the oldest goes first. */
export const MAX_PENDING_SIGN_INS = 5;

/** 32 bytes from the CSPRNG, base64url: 256 bits for state, nonce and PKCE verifier alike. */
export function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** The S256 PKCE challenge of a verifier (RFC 7636 §4.2). */
export function codeChallengeOf(codeVerifier: string): string {
  return crypto.createHash('sha256').update(codeVerifier).digest('base64url');
}

/** A fresh state, nonce and PKCE verifier. */
export function createPendingSignIn(now: number): PendingSignIn {
  return { state: randomToken(), nonce: randomToken(), codeVerifier: randomToken(), createdAt: now };
}

/** Adds a pending sign-in, dropping expired ones and the oldest beyond the cap. */
export function addPendingSignIn(pending: readonly PendingSignIn[] | undefined, signIn: PendingSignIn): PendingSignIn[] {
  const live = (pending ?? []).filter((item) => signIn.createdAt - item.createdAt < PENDING_SIGN_IN_MS);
  return [...live, signIn].slice(-MAX_PENDING_SIGN_INS);
}

/**
 * Finds the pending sign-in whose state equals the given one, compared in constant time,
 * and returns it with the list that remains once it is consumed.
 */
export function takePendingSignIn(
  pending: readonly PendingSignIn[] | undefined,
  state: string,
): { signIn: PendingSignIn | undefined; remaining: PendingSignIn[] } {
  const signIn = (pending ?? []).find((item) => equalInConstantTime(item.state, state));
  return { signIn, remaining: (pending ?? []).filter((item) => item !== signIn) };
}
