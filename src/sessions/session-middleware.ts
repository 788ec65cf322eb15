import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Config } from '../config.ts';
import { servesHttps } from '../config.ts';
import type { Logger } from '../log.ts';
import type { SqlDatabase } from '../db/sql.ts';
import { DatabaseSessionStore } from './session-store.ts';
import type { ReadSessionRow, SessionCookieSettings } from './session-store.ts';
import { regenerateSession } from './session-lifecycle.ts';
import { readCookie } from './cookies.ts';
import { randomToken } from '../random-token.ts';

/** The session cookie's name: the __Host- prefix pins it to this origin when it is https. */
export function sessionCookieName(config: Pick<Config, 'baseUrl'>): string {
  return servesHttps(config) ? '__Host-o365signin.sid' : 'o365signin.sid';
}

/**
 * The session cookie: HttpOnly, SameSite=Lax (Strict would drop the cookie on the way back from Microsoft),
 * Secure on https, and the idle lifetime. express-session sets it on new sessions, the store on loaded ones.
 */
export function sessionCookieSettings(config: Pick<Config, 'baseUrl' | 'sessionIdleMinutes'>): SessionCookieSettings {
  return { httpOnly: true, sameSite: 'lax', secure: servesHttps(config), path: '/', maxAge: config.sessionIdleMinutes * 60 * 1000 };
}

/** A stored session's idle expiry moves at most this often: a page view in between writes nothing. */
export const SESSION_TOUCH_AFTER_MS = 60 * 1000;

/**
 * All cookie and session settings in one place: a database store, the cookie of sessionCookieSettings,
 * an idle timeout that slides in steps of SESSION_TOUCH_AFTER_MS and an exact absolute lifetime. `readRow` reads a
 * session's row (with its signed-in user: signed-in-read.ts); the store's own read of the row alone without it.
 */
export function createSessionMiddleware(
  config: Config,
  database: SqlDatabase,
  logger: Logger,
  now: () => number = Date.now,
  readRow?: ReadSessionRow,
): { middleware: RequestHandler; store: DatabaseSessionStore } {
  const maxMs = config.sessionMaxHours * 60 * 60 * 1000;
  const cookie = sessionCookieSettings(config);
  const store = new DatabaseSessionStore(database, { cookie, logger, now, readRow });
  const cookieName = sessionCookieName(config);

  const sessions = session({
    name: cookieName,
    secret: config.sessionSecret,
    store,
    // 256 bits from the CSPRNG (express-session's own ids have 192), drawn from the app's batch of random bytes.
    genid: () => randomToken(),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie,
  });

  // One layer, not three: the router's dispatch is a measurable share of a page that does little else (bench profile).
  const middleware: RequestHandler = (req, res, next) => {
    // The home page of a browser without the cookie has no session to read and saves none: express-session's id and hash are skipped.
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path === '/' && readCookie(req.headers.cookie, cookieName) === undefined) {
      next();
      return;
    }
    sessions(req, res, (error?: unknown) => {
      if (error !== undefined && error !== null) {
        next(error);
        return;
      }
      const stored = req.session;
      const startedAt = stored?.startedAt;
      if (startedAt !== undefined && now() - startedAt > maxMs) {
        regenerateSession(req).then(
          () => next(),
          (failure: unknown) => next(failure),
        );
        return;
      }
      // Marking the session changed makes express-session save it, which moves its expiry (row and cookie).
      if (startedAt !== undefined && now() - (stored.seenAt ?? 0) >= SESSION_TOUCH_AFTER_MS) stored.seenAt = now();
      next();
    });
  };

  return { middleware, store };
}
