import 'express-session';
import type { StoredResourceToken } from '../tokens/resource-token-store.ts';
import type { StoredSignIn } from '../tokens/token-store.ts';
import type { SessionFields } from './stored-session-schema.ts';

export type { Notice } from './stored-session-schema.ts';

/** The signed-in user of a loaded session, read with its row in one query (signed-in-read.ts). */
export interface SignedIn {
  /** The user the row names. */
  readonly userId: string;
  /** undefined when that user is gone (forgotten, the database reset). */
  readonly signIn: StoredSignIn | undefined;
  /** Their readable tokens for other resources, by resource and scopes. */
  readonly resourceTokens: readonly StoredResourceToken[];
}

declare module 'express-session' {
  /** The app's fields of a session, as the one stored-session schema describes them; `cookie` is express-session's own. */
  interface SessionData extends SessionFields {}
}

declare global {
  namespace Express {
    interface Request {
      /**
       * The signed-in user as read with this request's session, set once by the session store when it loads the session
       * (session-store.ts). It belongs to that session: compare its `userId` with the session's before using it.
       */
      signIn?: SignedIn | undefined;
    }
  }
}
