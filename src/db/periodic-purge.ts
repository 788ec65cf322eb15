import type { Logger } from '../log.ts';

/** How often the tables of expiring rows (sessions, rate-limit counters) are cleared of expired ones. */
export const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Runs `purge` every PURGE_INTERVAL_MS in the background, without keeping the process alive; a failure is logged
 * as `failureMessage` and the next round tries again. Returns the function that stops it.
 */
export function startPeriodicPurge(purge: () => Promise<unknown>, options: { logger: Logger; failureMessage: string }): () => void {
  const timer = setInterval(() => {
    purge().catch((error: unknown) => options.logger.warn(options.failureMessage, { reason: String(error).slice(0, 300) }));
  }, PURGE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
