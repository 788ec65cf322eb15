import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Database } from '../db.ts';
import type { Logger } from '../log.ts';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** How often expired sessions are deleted. */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;
/** How long a destroyed session id stays refused: longer than any request that loaded it before can run. */
const TOMBSTONE_MS = 10 * 60 * 1000;

/** express-session's store on the Session table: sessions survive restarts and can be shared by instances. */
export class PrismaSessionStore extends session.Store {
  readonly #database: Database;
  readonly #defaultMaxAgeMs: number;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #now: () => number;
  /** Destroyed ids (sign-out, regenerate) and until when a late save of them is ignored. */
  readonly #destroyed = new Map<string, number>();

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
    // A request that loaded this session before sign-out must not write it back to life when it ends.
    if (this.#isDestroyed(sid)) {
      callback?.();
      return;
    }
    const expiresAt = this.#expiryOf(data);
    const json = JSON.stringify(data);
    this.#database.session.upsert({
      where: { id: sid },
      create: { id: sid, data: json, expiresAt },
      update: { data: json, expiresAt },
    }).then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  override touch(sid: string, data: SessionData, callback?: Callback): void {
    if (this.#isDestroyed(sid)) {
      callback?.();
      return;
    }
    this.#database.session.updateMany({ where: { id: sid }, data: { expiresAt: this.#expiryOf(data) } })
      .then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  override destroy(sid: string, callback?: Callback): void {
    const now = this.#now();
    for (const [id, until] of this.#destroyed) if (until <= now) this.#destroyed.delete(id);
    this.#destroyed.set(sid, now + TOMBSTONE_MS);
    this.#database.session.deleteMany({ where: { id: sid } })
      .then(() => callback?.(), (error: unknown) => callback?.(error));
  }

  #isDestroyed(sid: string): boolean {
    const until = this.#destroyed.get(sid);
    return until !== undefined && until > this.#now();
  }

  #expiryOf(data: SessionData): Date {
    // The cookie's remaining lifetime, counted on this store's clock.
    const maxAge = data.cookie?.maxAge;
    return new Date(this.#now() + (typeof maxAge === 'number' ? maxAge : this.#defaultMaxAgeMs));
  }
}
