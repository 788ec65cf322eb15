import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Database } from './database.ts';
import { isUniqueRace } from './database-errors.ts';
import { retryWhenBusy } from './database-retry.ts';
import { startPeriodicPurge } from './periodic-purge.ts';
import type { Logger } from '../log.ts';

/** Tries when another instance creates or restarts the same counter between our statements. */
const MAX_ATTEMPTS = 5;

/**
 * express-rate-limit's store on the RateLimitHit table, so every instance counts the same hits (SQLite and
 * PostgreSQL). Each step is one conditional statement: add a hit to a window still open, restart an ended window,
 * or create the counter; when another instance wins a step in between, the next attempt sees its row.
 */
export class DatabaseRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #database: Database;
  readonly #now: () => number;
  readonly #stopPurge: () => void;
  #windowMs = 60 * 1000;

  constructor(database: Database, options: { prefix: string; logger: Logger; now?: () => number }) {
    this.#database = database;
    this.prefix = options.prefix;
    this.#now = options.now ?? Date.now;
    // Several instances may purge at once: each deletes only ended windows, so a second delete finds nothing.
    this.#stopPurge = startPeriodicPurge(() => this.purgeExpired(), { logger: options.logger, failureMessage: 'rate limit purge failed' });
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = await this.#database.rateLimitHit.findUnique({ where: { key: this.prefix + key } });
    if (row === null || row.resetAt.getTime() <= this.#now()) return undefined;
    return { totalHits: row.hits, resetTime: row.resetAt };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const id = this.prefix + key;
    for (let attempt = 1; ; attempt += 1) {
      const now = new Date(this.#now());
      const counted = await retryWhenBusy(() =>
        this.#database.rateLimitHit.updateManyAndReturn({
          where: { key: id, resetAt: { gt: now } },
          data: { hits: { increment: 1 } },
        }),
      );
      if (counted[0] !== undefined) return { totalHits: counted[0].hits, resetTime: counted[0].resetAt };
      const resetAt = new Date(now.getTime() + this.#windowMs);
      const restarted = await retryWhenBusy(() =>
        this.#database.rateLimitHit.updateManyAndReturn({
          where: { key: id, resetAt: { lte: now } },
          data: { hits: 1, resetAt },
        }),
      );
      if (restarted[0] !== undefined) return { totalHits: restarted[0].hits, resetTime: restarted[0].resetAt };
      const created = await retryWhenBusy(async () => {
        try {
          return await this.#database.rateLimitHit.create({ data: { key: id, hits: 1, resetAt } });
        } catch (error) {
          if (!isUniqueRace(error) || attempt >= MAX_ATTEMPTS) throw error;
          return undefined;
        }
      });
      if (created !== undefined) return { totalHits: created.hits, resetTime: created.resetAt };
    }
  }

  async decrement(key: string): Promise<void> {
    await retryWhenBusy(() =>
      this.#database.rateLimitHit.updateMany({
        where: { key: this.prefix + key, resetAt: { gt: new Date(this.#now()) }, hits: { gt: 0 } },
        data: { hits: { decrement: 1 } },
      }),
    );
  }

  async resetKey(key: string): Promise<void> {
    await retryWhenBusy(() => this.#database.rateLimitHit.deleteMany({ where: { key: this.prefix + key } }));
  }

  /** Deletes the counters of ended windows; returns how many. */
  async purgeExpired(now = new Date(this.#now())): Promise<number> {
    const { count } = await retryWhenBusy(() => this.#database.rateLimitHit.deleteMany({ where: { resetAt: { lte: now } } }));
    return count;
  }

  shutdown(): void {
    this.#stopPurge();
  }
}
