import session from 'express-session';
import type { SessionData } from 'express-session';
import { retryWhenBusy } from '../db/database-retry.ts';
import { startPeriodicPurge } from '../db/periodic-purge.ts';
import { sql } from '../db/sql.ts';
import type { SqlDatabase, SqlQueries } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { SignedIn } from './session-data.ts';
import { readStoredSession, rememberWrittenSession } from './stored-session-schema.ts';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** What a destroyed row keeps: nothing but its id and expiry. */
const EMPTY_DATA = '{}';

/** The session cookie's settings, exactly as given to express-session; every loaded session's cookie is built from them. */
export interface SessionCookieSettings {
  readonly httpOnly: boolean;
  readonly sameSite: 'lax' | 'strict';
  readonly secure: boolean;
  readonly path: string;
  /** The idle lifetime in milliseconds: the cookie's, and a stored row's when a session has no cookie lifetime. */
  readonly maxAge: number;
}

/** A session row as read back: stored data is input, so every column is checked before it is used. */
export interface SessionRow {
  readonly data: unknown;
  readonly expiresAt: unknown;
  readonly destroyed: unknown;
  /** What a request needs of the row's signed-in user, read in the same query; absent when the row names no user. */
  readonly signedIn?: SignedIn | undefined;
}

/**
 * Reads the row of session `sid` (undefined when there is none). The store reads the row alone unless it is given
 * one that also reads the signed-in user's sign-in (signed-in-read.ts): then the signed-in page makes no second read.
 */
export type ReadSessionRow = (sid: string) => Promise<SessionRow | undefined>;

/**
 * A session as stored (`json`: JSON.stringify of the data, its cookie first, as express-session sets it first) and what
 * #written compares (`key`: the id and the data without the cookie, which express-session changes on every request),
 * from one serialization of the data.
 */
function serializeSession(sid: string, data: SessionData): { json: string; key: string } {
  const { cookie, ...content } = data;
  const contentJson = JSON.stringify(content);
  const key = `${sid} ${contentJson}`;
  const cookieJson = cookie === undefined ? undefined : (JSON.stringify(cookie) as string | undefined);
  if (cookieJson === undefined) return { json: contentJson, key };
  return { json: contentJson === '{}' ? `{"cookie":${cookieJson}}` : `{"cookie":${cookieJson},${contentJson.slice(1)}`, key };
}

/** Where a loaded session's data carries its sign-in from `get` to `createSession`: a symbol, so it is never saved. */
const SIGNED_IN = Symbol('signedIn');

/**
 * express-session's store on the Session table: sessions survive restarts and are shared by instances.
 * A destroyed session stays as a row marked `destroyed` until it expires, so that no request still running
 * on any instance can write it back. It has no `touch`: a session's idle expiry moves when it is saved
 * (session-middleware.ts saves at most once a minute), and without one express-session skips a hash of every unchanged session.
 */
export class DatabaseSessionStore extends session.Store {
  readonly #database: SqlDatabase;
  readonly #cookie: SessionCookieSettings;
  readonly #stopPurge: () => void;
  readonly #now: () => number;
  readonly #logger: Logger;
  /** Sessions that came from a stored row during this request (the rest are new: insert first). */
  readonly #loaded = new WeakSet<object>();
  /** What was last written for a session object, so express-session's second save after a new id writes nothing. */
  readonly #written = new WeakMap<object, string>();
  readonly #readRow: ReadSessionRow;

  constructor(
    database: SqlDatabase,
    options: {
      cookie: SessionCookieSettings;
      logger: Logger;
      now?: () => number;
      readRow?: ReadSessionRow | undefined;
    },
  ) {
    super();
    this.#readRow =
      options.readRow ??
      (async (sid) => {
        const [row] = await database.queryRows(sql`SELECT "data", "expiresAt", "destroyed" FROM "Session" WHERE "id" = ${sid}`);
        return row === undefined ? undefined : { data: row.data, expiresAt: row.expiresAt, destroyed: row.destroyed };
      });
    this.#database = database;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#cookie = options.cookie;
    this.#stopPurge = startPeriodicPurge(() => this.purgeExpired(), { logger: options.logger, failureMessage: 'session purge failed' });
  }

  /** Deletes sessions (live or destroyed) past their expiry; returns how many. */
  async purgeExpired(now = new Date(this.#now())): Promise<number> {
    return retryWhenBusy(() => this.#database.run(sql`DELETE FROM "Session" WHERE "expiresAt" <= ${now}`));
  }

  /** Stops the purge timer. */
  close(): void {
    this.#stopPurge();
  }

  /**
   * Ends a live session only if no other request (on any instance) ended it first: exactly one caller gets true.
   * The callback uses it to consume its state once across instances (S48).
   */
  async takeOver(sid: string): Promise<boolean> {
    const now = new Date(this.#now());
    const count = await retryWhenBusy(() =>
      this.#database.run(
        sql`UPDATE "Session" SET "destroyed" = ${true}, "data" = ${EMPTY_DATA}, "userId" = ${null}
          WHERE "id" = ${sid} AND "destroyed" = ${false} AND "expiresAt" > ${now}`,
      ),
    );
    return count === 1;
  }

  /**
   * A row that is missing, destroyed, expired, unreadable or not what the app writes (stored-session-schema.ts) is no
   * session (signed out); a failing database is an error (503).
   */
  override get(sid: string, callback: Callback<SessionData | null>): void {
    this.#settle(this.#read(sid), callback);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    this.#settle(this.#write(sid, data), callback);
  }

  /**
   * Turns a stored session into the request's: its cookie is rebuilt from the app's settings, never taken from the row,
   * since express-session touches the cookie inside res.end, outside any request's error handling, where a throw
   * (an originalMaxAge that is not a number) would stop the process. Only the row's remaining lifetime is kept.
   * The sign-in read with the row becomes the request's `signIn` (session-data.ts).
   */
  override createSession(req: Parameters<session.Store['createSession']>[0], data: SessionData): session.Session & SessionData {
    data.cookie = this.#cookieFor(data.cookie) as unknown as SessionData['cookie'];
    const created = super.createSession(req, data);
    this.#loaded.add(created);
    req.signIn = (data as { [SIGNED_IN]?: SignedIn })[SIGNED_IN];
    return created;
  }

  override destroy(sid: string, callback?: Callback): void {
    this.#settle(
      retryWhenBusy(() =>
        this.#database.run(sql`UPDATE "Session" SET "destroyed" = ${true}, "data" = ${EMPTY_DATA}, "userId" = ${null} WHERE "id" = ${sid}`),
      ).then(() => undefined),
      callback,
    );
  }

  async #read(sid: string): Promise<SessionData | null> {
    // A query that fails (database down) propagates: the error handler answers with the 503 page.
    const row = await this.#readRow(sid);
    if (row === undefined || row.destroyed === true || !(row.expiresAt instanceof Date) || row.expiresAt.getTime() <= this.#now())
      return null;
    const reading = readStoredSession(row.data);
    if (!reading.ok) {
      // Where and how the row fails, never what it holds (it may hold a CSRF token or a pending sign-in's verifier).
      this.#logger.warn('stored session is malformed; treated as signed out', { field: reading.field, problem: reading.problem });
      return null;
    }
    // express-session hands this same object to createSession, which gives the sign-in to the request.
    if (row.signedIn !== undefined) Object.defineProperty(reading.data, SIGNED_IN, { value: row.signedIn });
    // express-session's createSession turns the stored cookie into its Cookie (see createSession below).
    return reading.data as unknown as SessionData;
  }

  /**
   * Writes session `sid` with `queries`, a caller's transaction, so that it is stored together with the caller's other
   * writes or not at all. Returns what to call once that transaction committed: then express-session's own save at the
   * end of the request writes nothing more; a transaction rolled back leaves the session to be written as usual.
   */
  async writeWithin(queries: SqlQueries, sid: string, data: SessionData): Promise<() => void> {
    const { json, key } = serializeSession(sid, data);
    await this.#writeRow(queries, sid, data, json);
    return () => this.#written.set(data, key);
  }

  async #write(sid: string, data: SessionData): Promise<void> {
    const { json, key } = serializeSession(sid, data);
    if (this.#written.get(data) === key) return;
    await retryWhenBusy(() => this.#writeRow(this.#database, sid, data, json));
    this.#written.set(data, key);
  }

  /** Inserts or updates the row with `queries`; `json` is the data as serializeSession wrote it. */
  async #writeRow(queries: SqlQueries, sid: string, data: SessionData, json: string): Promise<void> {
    const expiresAt = this.#expiryOf(data);
    const userId = typeof data.userId === 'string' ? data.userId : null;
    // A request that loaded this session before it was destroyed must not write it back to life (S49).
    const update = async () =>
      (await queries.run(
        sql`UPDATE "Session" SET "data" = ${json}, "expiresAt" = ${expiresAt}, "userId" = ${userId} WHERE "id" = ${sid} AND "destroyed" = ${false}`,
      )) === 1;
    // ON CONFLICT DO NOTHING: an existing row (live or destroyed) is left alone on SQLite and PostgreSQL alike.
    const insert = async () =>
      (await queries.run(
        sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed", "userId")
          VALUES (${sid}, ${json}, ${expiresAt}, ${false}, ${userId}) ON CONFLICT ("id") DO NOTHING`,
      )) === 1;
    // When neither works, the row exists but is destroyed: the write is dropped.
    const stored = this.#loaded.has(data) ? (await update()) || (await insert()) : (await insert()) || (await update());
    // The next request of this session reads this text back: here, it is known to fit (stored-session-schema.ts).
    if (stored) rememberWrittenSession(json);
  }

  /** Calls back once with the outcome; a throw inside the callback is logged, never an unhandled rejection. */
  #settle<T>(work: Promise<T>, callback: Callback<T> | undefined): void {
    work
      .then(
        (value) => callback?.(undefined, value),
        (error: unknown) => callback?.(error),
      )
      .catch((error: unknown) => this.#logger.error('session callback failed', { reason: String(error).slice(0, 300) }));
  }

  #expiryOf(data: SessionData): Date {
    // The cookie's remaining lifetime, counted on this store's clock.
    const maxAge = data.cookie?.maxAge;
    return new Date(this.#now() + (typeof maxAge === 'number' && Number.isFinite(maxAge) ? maxAge : this.#cookie.maxAge));
  }

  /** The cookie of a loaded session as express-session serializes it: the app's settings, the stored expiry at most one idle lifetime away. */
  #cookieFor(stored: unknown): Record<string, unknown> {
    const { maxAge, ...attributes } = this.#cookie;
    // express-session's cookie counts on the real clock (Date.now), not on this store's.
    const latest = Date.now() + maxAge;
    const storedExpiry = Date.parse(String((stored as { expires?: unknown } | null | undefined)?.expires));
    return Object.assign({}, attributes, {
      originalMaxAge: maxAge,
      expires: new Date(Number.isNaN(storedExpiry) ? latest : Math.min(storedExpiry, latest)),
    });
  }
}
