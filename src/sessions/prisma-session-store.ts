import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Database } from '../db.ts';
import type { Logger } from '../log.ts';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** How often expired sessions are deleted. */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** express-session's store on the Session table: sessions survive restarts and can be shared by instances. */
export class PrismaSessionStore extends session.Store {
  readonly #database: Database;
  readonly #defaultMaxAgeMs: number;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(database: Database, options: { defaultMaxAgeMs: number; logger: Logger; now?: () => number }) {
    super();
    this.#database = database;
    this.#now = options.now ?? Date.now;
    this.#defaultMaxAgeMs = options.defaultMaxAgeMs;
    this.#purgeTimer = setInterval(() => {
      this.purgeExpired().catch((error: unknown) => options.logger.warn('session purge failed', { reason: String(error) }));
    }, PURGE_INTERVAL_MS);
    this.#purgeTimer.unref();
  }

  /** Deletes sessions past their expiry; returns how many. */
  async purgeExpired(now = new Date(this.#now())): Promise<number> {
    const { count } = await this.#database.session.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }

  /** Stops the purge timer. */
  close(): void {
    clearInterval(this.#purgeTimer);
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    this.#database.session.findUnique({ where: { id: sid } }).then((row) => {
      if (row === null || row.expiresAt.getTime() <= this.#now()) return callback(undefined, null);
      callback(undefined, JSON.parse(row.data) as SessionData);
    }, callback);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const expiresAt = this.#expiryOf(data);
    const json = JSON.stringify(data);
    this.#database.session.upsert({
      where: { id: sid },
      create: { id: sid, data: json, expiresAt },
      update: { data: json, expiresAt },
    }).then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  override touch(sid: string, data: SessionData, callback?: Callback): void {
    this.#database.session.updateMany({ where: { id: sid }, data: { expiresAt: this.#expiryOf(data) } })
      .then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.#database.session.deleteMany({ where: { id: sid } })
      .then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  #expiryOf(data: SessionData): Date {
    // The cookie's remaining lifetime, counted on this store's clock.
    const maxAge = data.cookie?.maxAge;
    return new Date(this.#now() + (typeof maxAge === 'number' ? maxAge : this.#defaultMaxAgeMs));
  }
}
