import { isDatabaseBusy, isUniqueRace } from './database-errors.ts';

/** How long a write keeps retrying while another connection holds the write lock, before the 503 page. */
const BUSY_RETRY_MS = 5000;
/** Pauses between attempts while busy: short first (most locks last a millisecond), then steady. */
const BUSY_BACKOFF_MS = [2, 5, 10, 25, 50, 100, 200];
const MAX_BACKOFF_MS = 250;
/** Attempts when a concurrent first sign-in of the same user inserted the row first. */
const MAX_RACE_ATTEMPTS = 3;

/**
 * Runs a write, retrying while the database is busy (pausing with timers, so other requests go on) for up to
 * `timeoutMs` (default BUSY_RETRY_MS), and a few times when a concurrent first sign-in of the same user inserted the
 * row first; then gives up with the last error.
 */
export async function retryWhenBusy<T>(write: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? BUSY_RETRY_MS);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      const busy = isDatabaseBusy(error);
      if (!busy && !(isUniqueRace(error) && attempt < MAX_RACE_ATTEMPTS)) throw error;
      const pause = BUSY_BACKOFF_MS[attempt - 1] ?? MAX_BACKOFF_MS;
      if (busy && Date.now() + pause > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
