import 'express-session';
import type { PendingSignIn } from '../auth/pending-sign-ins.ts';

/** One-time messages shown on the next page: in the session while signed in, in a short cookie once the session is gone. */
export type Notice =
  | { kind: 'signed-out' }
  | { kind: 'signed-out-microsoft' }
  | { kind: 'forgotten' }
  | { kind: 'refreshed'; expiresAt: string }
  | { kind: 'refresh-failed'; message: string; aadsts?: string; correlationId?: string }
  | { kind: 'graph-ok'; displayName: string; mail: string; userPrincipalName: string; signInNeededAfter?: string }
  | { kind: 'graph-failed'; status: number; code: string; message: string; requestId?: string };

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
