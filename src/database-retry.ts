/** Attempts of a write that SQLite reported busy or that lost a first-insert race; each waits out the busy timeout. */
const MAX_ATTEMPTS = 3;
const BACKOFF_MS = [50, 200];

/** True for SQLite's "database is locked/busy" however Prisma's driver adapter wraps it. */
export function isDatabaseBusy(error: unknown): boolean {
  return /SQLITE_BUSY|database is (locked|busy)|SocketTimeout|Timed out/i.test(describe(error));
}

/** True when a concurrent first insert of the same unique key won (Prisma P2002). */
function isUniqueRace(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'P2002' || /UNIQUE constraint failed/i.test(describe(error));
}

/** True for any error that comes from the database layer (Prisma or its driver adapter). */
export function isDatabaseError(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return (typeof name === 'string' && /^(PrismaClient|DriverAdapter)/.test(name)) || isDatabaseBusy(error);
}

/**
 * Runs a write, retrying a bounded number of times when the database is busy or a concurrent
 * first sign-in of the same user inserted the row first; then gives up with the last error.
 */
export async function retryWhenBusy<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !(isDatabaseBusy(error) || isUniqueRace(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS[attempt - 1] ?? 200));
    }
  }
}

function describe(error: unknown, depth = 0): string {
  if (depth > 3 || typeof error !== 'object' || error === null) return String(error);
  const fields = error as { message?: unknown; code?: unknown; cause?: unknown };
  return `${String(fields.message ?? '')} ${String(fields.code ?? '')} ${describe(fields.cause, depth + 1)}`;
}
