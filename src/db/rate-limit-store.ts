import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { isUniqueRace } from './database-errors.ts';
import { retryWhenBusy } from './database-retry.ts';
import { startPeriodicPurge } from './periodic-purge.ts';
import { sql } from './sql.ts';
import type { SqlDatabase, SqlRow } from './sql.ts';
import type { Logger } from '../log.ts';

/** Tries when another instance creates or restarts the same counter between our statements. */
const MAX_ATTEMPTS = 5;

/** A counter read back (stored data is input): its hits a count, its end a valid date. */
function counterOf(row: SqlRow): ClientRateLimitInfo {
  const { hits, resetAt } = row;
  if (typeof hits !== 'number' || !Number.isInteger(hits) || hits < 0 || !(resetAt instanceof Date) || Number.isNaN(resetAt.getTime()))
    throw new Error('The stored rate-limit counter is not a count with an end date.');
  return { totalHits: hits, resetTime: resetAt };
}

/**
 * express-rate-limit's store on the RateLimitHit table, so every instance counts the same hits (SQLite and
 * PostgreSQL). Each step is one conditional statement: add a hit to a window still open, restart an ended window,
 * or create the counter; when another instance wins a step in between, the next attempt sees its row.
 */
export class DatabaseRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #database: SqlDatabase;
  readonly #now: () => number;
  readonly #stopPurge: () => void;
  #windowMs = 60 * 1000;

  constructor(database: SqlDatabase, options: { prefix: string; logger: Logger; now?: () => number }) {
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
    const [row] = await this.#database.queryRows(sql`SELECT "hits", "resetAt" FROM "RateLimitHit" WHERE "key" = ${this.prefix + key}`);
    if (row === undefined) return undefined;
    const counter = counterOf(row);
    return (counter.resetTime?.getTime() ?? 0) <= this.#now() ? undefined : counter;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const id = this.prefix + key;
    for (let attempt = 1; ; attempt += 1) {
      const now = new Date(this.#now());
      const [counted] = await retryWhenBusy(() =>
        this.#database.queryRows(
          sql`UPDATE "RateLimitHit" SET "hits" = "hits" + 1 WHERE "key" = ${id} AND "resetAt" > ${now} RETURNING "hits", "resetAt"`,
        ),
      );
      if (counted !== undefined) return counterOf(counted);
      const resetAt = new Date(now.getTime() + this.#windowMs);
      const [restarted] = await retryWhenBusy(() =>
        this.#database.queryRows(
          sql`UPDATE "RateLimitHit" SET "hits" = ${1}, "resetAt" = ${resetAt} WHERE "key" = ${id} AND "resetAt" <= ${now} RETURNING "hits", "resetAt"`,
        ),
      );
      if (restarted !== undefined) return counterOf(restarted);
      const created = await retryWhenBusy(async () => {
        try {
          await this.#database.run(sql`INSERT INTO "RateLimitHit" ("key", "hits", "resetAt") VALUES (${id}, ${1}, ${resetAt})`);
          return true;
        } catch (error) {
          if (!isUniqueRace(error) || attempt >= MAX_ATTEMPTS) throw error;
          return false;
        }
      });
      if (created) return { totalHits: 1, resetTime: resetAt };
    }
  }

  async decrement(key: string): Promise<void> {
    await retryWhenBusy(() =>
      this.#database.run(
        sql`UPDATE "RateLimitHit" SET "hits" = "hits" - 1 WHERE "key" = ${this.prefix + key} AND "resetAt" > ${new Date(this.#now())} AND "hits" > ${0}`,
      ),
    );
  }

  async resetKey(key: string): Promise<void> {
    await retryWhenBusy(() => this.#database.run(sql`DELETE FROM "RateLimitHit" WHERE "key" = ${this.prefix + key}`));
  }

  /** Deletes the counters of ended windows; returns how many. */
  async purgeExpired(now = new Date(this.#now())): Promise<number> {
    return retryWhenBusy(() => this.#database.run(sql`DELETE FROM "RateLimitHit" WHERE "resetAt" <= ${now}`));
  }

  shutdown(): void {
    this.#stopPurge();
  }
}
