import 'express-session';
import type { Notice } from '../web/notices.ts';

/** A sign-in started by /connect and not yet finished: kept only in the server-side session. */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

declare module 'express-session' {
  interface SessionData {
    /** The signed-in user's database id. */
    userId: string;
    /** When the session was first created, for the absolute lifetime. */
    startedAt: number;
    /** When the session's idle expiry was last moved (milliseconds since the epoch). */
    seenAt: number;
    pendingSignIns: PendingSignIn[];
    csrfToken: string;
    /** A one-time message for the next page. */
    notice: Notice;
  }
}
