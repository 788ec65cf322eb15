import 'express-session';
import type { SessionFields } from './stored-session-schema.ts';

export type { Notice } from './stored-session-schema.ts';

declare module 'express-session' {
  /** The app's fields of a session, as the one stored-session schema describes them; `cookie` is express-session's own. */
  interface SessionData extends SessionFields {}
}
