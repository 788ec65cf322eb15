/** How long a write keeps retrying while another connection holds the write lock, before the 503 page. */
const BUSY_RETRY_MS = 5000;
/** Pauses between attempts while busy: short first (most locks last a millisecond), then steady. */
const BUSY_BACKOFF_MS = [2, 5, 10, 25, 50, 100, 200];
const MAX_BACKOFF_MS = 250;
/** Attempts when a concurrent first sign-in of the same user inserted the row first. */
const MAX_RACE_ATTEMPTS = 3;

/** True for SQLite's "database is locked/busy" however Prisma's driver adapter wraps it. */
export function isDatabaseBusy(error: unknown): boolean {
  return /SQLITE_BUSY|database is (locked|busy)|SocketTimeout|Timed out/i.test(describe(error));
}

/** True when a concurrent first insert of the same unique key won (Prisma P2002). */
export function isUniqueRace(error: unknown): boolean {
  return (
    (error as { code?: unknown })?.code === 'P2002' ||
    /UNIQUE constraint failed|UniqueConstraintViolation|duplicate key value violates unique constraint/i.test(describe(error))
  );
}

/** True for any error that comes from the database layer (Prisma or its driver adapter). */
export function isDatabaseError(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return (typeof name === 'string' && /^(PrismaClient|DriverAdapter)/.test(name)) || isDatabaseBusy(error);
}

/**
 * Runs a write, retrying while the database is busy (pausing with timers, so other requests go on) for up to
 * BUSY_RETRY_MS, and a few times when a concurrent first sign-in of the same user inserted the row first;
 * then gives up with the last error.
 */
export async function retryWhenBusy<T>(write: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_RETRY_MS;
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

function describe(error: unknown, depth = 0): string {
  if (depth > 3 || typeof error !== 'object' || error === null) return String(error);
  const fields = error as { message?: unknown; code?: unknown; cause?: unknown };
  return `${String(fields.message ?? '')} ${String(fields.code ?? '')} ${describe(fields.cause, depth + 1)}`;
}
