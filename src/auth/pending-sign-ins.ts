import crypto from 'node:crypto';
import { equalInConstantTime } from '../constant-time.ts';
import { randomToken } from '../random-token.ts';

/** A sign-in started by /connect and not yet finished: kept only in the server-side session. */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Set for a sign-in that asks for another resource's scopes on behalf of the signed-in user (consent, MFA). */
  readonly incremental?: IncrementalSignIn;
}

/** What a sign-in for another resource asks for, and for whom: its tokens are stored only for this user. */
export interface IncrementalSignIn {
  /** The signed-in user's database id when the sign-in started. */
  readonly userId: string;
  /** The resource's scopes, as the person asked for them (one resource, checked before). */
  readonly scopes: readonly string[];
  /** The claims challenge Microsoft answered with (JSON text), passed on to the authorization request. */
  readonly claims?: string;
}

/** A pending sign-in is good for this long (the state's lifetime). */
export const PENDING_SIGN_IN_MS = 10 * 60 * 1000;
/** At most this many sign-ins may be pending in one browser (several tabs); the oldest goes first. */
export const MAX_PENDING_SIGN_INS = 5;

/** The S256 PKCE challenge of a verifier (RFC 7636 §4.2). */
export function codeChallengeOf(codeVerifier: string): string {
  return crypto.createHash('sha256').update(codeVerifier).digest('base64url');
}

/** A fresh state, nonce and PKCE verifier (for a sign-in for another resource, with what it asks for). */
export function createPendingSignIn(now: number, incremental?: IncrementalSignIn): PendingSignIn {
  const signIn = { state: randomToken(), nonce: randomToken(), codeVerifier: randomToken(), createdAt: now };
  return incremental === undefined ? signIn : Object.assign(signIn, { incremental });
}

/**
 * Adds a round trip waiting for Microsoft's answer (a sign-in, an admin consent) to its list in the session, dropping
 * those older than PENDING_SIGN_IN_MS and the oldest beyond `max`.
 */
export function addPending<T extends { readonly createdAt: number }>(pending: readonly T[] | undefined, item: T, max: number): T[] {
  const live = (pending ?? []).filter((other) => item.createdAt - other.createdAt < PENDING_SIGN_IN_MS);
  return [...live, item].slice(-max);
}

/** Finds the pending round trip whose state equals `state`, compared in constant time, and the list that remains without it. */
export function takePending<T extends { readonly state: string }>(
  pending: readonly T[] | undefined,
  state: string,
): { found: T | undefined; remaining: T[] } {
  const found = (pending ?? []).find((item) => equalInConstantTime(item.state, state));
  return { found, remaining: (pending ?? []).filter((item) => item !== found) };
}

/** Adds a pending sign-in, dropping expired ones and the oldest beyond the cap. */
export function addPendingSignIn(pending: readonly PendingSignIn[] | undefined, signIn: PendingSignIn): PendingSignIn[] {
  return addPending(pending, signIn, MAX_PENDING_SIGN_INS);
}

/**
 * Finds the pending sign-in whose state equals the given one, compared in constant time,
 * and returns it with the list that remains once it is consumed.
 */
export function takePendingSignIn(
  pending: readonly PendingSignIn[] | undefined,
  state: string,
): { signIn: PendingSignIn | undefined; remaining: PendingSignIn[] } {
  const { found, remaining } = takePending(pending, state);
  return { signIn: found, remaining };
}
