import type BetterSqlite3 from 'better-sqlite3';

/** Pauses between checkpoint attempts while another connection still reads an older snapshot: quick first, then steady. */
const RETRY_PAUSES_MS = [50, 100, 250, 500, 1000, 2000];
/** The longest pause between two attempts: deleted bytes leave the files at most this long after the last reader ends. */
export const MAX_CHECKPOINT_PAUSE_MS = 5000;

/**
 * TRUNCATE checkpoints on one SQLite connection. A checkpoint copies every WAL frame into the database file and
 * empties the WAL, so no older frame keeps the bytes of a deleted row (secure_delete zeroes only the current pages).
 * Another connection reading an older snapshot (a backup, the sqlite3 shell) or a transaction open on this one blocks
 * it; then it is retried on a timer until an attempt completes.
 */
export class WalCheckpoint {
  readonly #statement: BetterSqlite3.Statement;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(connection: BetterSqlite3.Database) {
    this.#statement = connection.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  /** Tries now; true when the WAL is empty. Otherwise retries in the background until an attempt completes. */
  request(): boolean {
    if (this.attempt()) return true;
    this.#schedule();
    return false;
  }

  /** One attempt, nothing scheduled: true when it completed. */
  attempt(): boolean {
    if (this.#closed) return false;
    let completed: boolean;
    try {
      // busy = 1: a reader or writer on another connection kept part of the WAL in use.
      completed = Number((this.#statement.get() as { busy: number | bigint }).busy) === 0;
    } catch {
      // SQLITE_LOCKED inside a transaction open on this connection, SQLITE_BUSY while another connection checkpoints.
      completed = false;
    }
    if (completed) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#failures = 0;
    }
    return completed;
  }

  /**
   * Checkpoints now, or waits up to `timeoutMs` for other connections' snapshots to end; `onWaiting` is called once when
   * the first attempt is blocked. Returns false when the time ran out (the retries on the timer go on meanwhile).
   */
  async waitFor(options: { timeoutMs: number; onWaiting?: (() => void) | undefined }): Promise<boolean> {
    if (this.request()) return true;
    options.onWaiting?.();
    const deadline = Date.now() + options.timeoutMs;
    for (let pause = RETRY_PAUSES_MS[0] ?? MAX_CHECKPOINT_PAUSE_MS; Date.now() < deadline; pause = Math.min(pause * 2, 1000)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
      if (this.attempt()) return true;
    }
    return false;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const pause = RETRY_PAUSES_MS[this.#failures] ?? MAX_CHECKPOINT_PAUSE_MS;
    this.#failures += 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.attempt()) this.#schedule();
    }, pause);
    // A pending retry never keeps a command-line process alive; the next open checkpoints again.
    this.#timer.unref();
  }
}

/**
 * Gives a connection its checkpoints and runs the first one now: whatever an earlier process left in the WAL (a
 * checkpoint that a reader blocked before a restart) is erased at open, or retried until it is. `close()` stops the retries.
 */
export function startWalCheckpoints(connection: BetterSqlite3.Database): WalCheckpoint {
  const checkpoint = new WalCheckpoint(connection);
  checkpoint.request();
  return checkpoint;
}
