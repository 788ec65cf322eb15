/**
 * What a database error means for the app: `busy` (another connection holds the lock or won a conflict: try again),
 * `unique-violation` (a concurrent insert of the same key won), `unavailable` (the database cannot be reached or used
 * right now: refused, closed, shutting down, no free connection) and `failed` (any other error the database reported).
 */
export type DatabaseErrorKind = 'busy' | 'unique-violation' | 'unavailable' | 'failed';

/** The structured part of a Prisma driver-adapter error (@prisma/driver-adapter-utils `Error`). */
interface AdapterCause {
  readonly kind: string;
  /** SQLite: better-sqlite3's code (`SQLITE_BUSY`); PostgreSQL: the SQLSTATE. */
  readonly originalCode?: unknown;
  /** PostgreSQL errors the adapter does not name (kind `postgres`): the SQLSTATE. */
  readonly code?: unknown;
}

/** Adapter kinds that mean the database cannot be used right now (mapped from socket errors and SQLSTATEs by the adapters). */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'TooManyConnections',
  'TlsConnectionError',
  'AuthenticationFailed',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
]);

/** Prisma's codes for the same, when an error carries no adapter cause (https://www.prisma.io/docs/orm/reference/error-reference). */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1000', 'P1001', 'P1002', 'P1003', 'P1010', 'P1011', 'P1017', 'P2024', 'P2037']);

/** SQLSTATEs of a PostgreSQL transaction that lost a conflict and may simply run again: serialization failure, deadlock, lock not available. */
const POSTGRES_RETRYABLE_STATES = new Set(['40001', '40P01', '55P03']);

/** SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now (class 08, connection exceptions, too). */
const POSTGRES_SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);

/** Prisma's client errors that say nothing more than "failed" (https://www.prisma.io/docs/orm/reference/error-reference). */
const FAILED_PRISMA_ERRORS = new Set(['PrismaClientUnknownRequestError', 'PrismaClientRustPanicError', 'PrismaClientValidationError']);

/**
 * Classifies an error by the structured fields the database drivers and Prisma give it, never by its message:
 * the driver adapter's `kind` and code (SQLite result code, PostgreSQL SQLSTATE) whether it comes straight from the
 * adapter (sql.ts) or wrapped by Prisma's client (`meta.driverAdapterError`), better-sqlite3's `SqliteError` code, and
 * Prisma's error names and codes. Errors are told by the `name` their classes give them, not by `instanceof`, so this
 * module loads neither Prisma's client runtime nor better-sqlite3 (the seam also runs on a bare adapter).
 * Undefined for an error that does not come from the database layer.
 */
export function classifyDatabaseError(error: unknown): DatabaseErrorKind | undefined {
  if (!(error instanceof Error)) return undefined;
  const cause = adapterCauseOf(error);
  if (cause !== undefined) return classifyAdapterCause(cause);
  const code = (error as { code?: unknown }).code;
  if (error.name === 'SqliteError' && typeof code === 'string') return classifySqliteCode(code);
  if (error.name === 'PrismaClientKnownRequestError' && typeof code === 'string') {
    // A SQLite error the adapter did not map reaches Prisma's client with better-sqlite3's code (SQLITE_BUSY_SNAPSHOT).
    if (code.startsWith('SQLITE_')) return classifySqliteCode(code);
    return classifyPrismaCode(code);
  }
  if (error.name === 'PrismaClientInitializationError') return 'unavailable';
  if (FAILED_PRISMA_ERRORS.has(error.name)) return 'failed';
  return undefined;
}

/** True when another connection holds the lock (SQLite) or the transaction lost a conflict (PostgreSQL): try again. */
export function isDatabaseBusy(error: unknown): boolean {
  return classifyDatabaseError(error) === 'busy';
}

/** True when a concurrent first insert of the same unique key won (SQLite and PostgreSQL unique constraints, Prisma P2002). */
export function isUniqueRace(error: unknown): boolean {
  return classifyDatabaseError(error) === 'unique-violation';
}

/** True for any error that comes from the database layer (the database, its driver adapter or Prisma's client). */
export function isDatabaseError(error: unknown): boolean {
  return classifyDatabaseError(error) !== undefined;
}

/** The adapter's cause: on a DriverAdapterError itself, or in the `meta` of the Prisma error that wraps it. */
function adapterCauseOf(error: Error): AdapterCause | undefined {
  const wrapped =
    error.name === 'PrismaClientKnownRequestError'
      ? (error as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError
      : error;
  if (typeof wrapped !== 'object' || wrapped === null || (wrapped as { name?: unknown }).name !== 'DriverAdapterError') return undefined;
  const cause = (wrapped as { cause?: unknown }).cause;
  return typeof cause === 'object' && cause !== null && typeof (cause as { kind?: unknown }).kind === 'string'
    ? (cause as AdapterCause)
    : undefined;
}

function classifyAdapterCause(cause: AdapterCause): DatabaseErrorKind {
  // The SQLite adapter reports SQLITE_BUSY as kind SocketTimeout; its code tells it from a PostgreSQL socket timeout.
  if (typeof cause.originalCode === 'string' && cause.originalCode.startsWith('SQLITE_')) return classifySqliteCode(cause.originalCode);
  switch (cause.kind) {
    case 'UniqueConstraintViolation':
      return 'unique-violation';
    case 'TransactionWriteConflict':
      return 'busy';
    case 'SocketTimeout':
      return 'unavailable';
    case 'postgres':
      return typeof cause.code === 'string' ? classifySqlState(cause.code) : 'failed';
    default:
      return UNAVAILABLE_KINDS.has(cause.kind) ? 'unavailable' : 'failed';
  }
}

/** SQLite result codes (https://sqlite.org/rescode.html): BUSY and LOCKED with their extended codes are a held lock. */
function classifySqliteCode(code: string): DatabaseErrorKind {
  if (/^SQLITE_(BUSY|LOCKED)(_[A-Z]+)?$/.test(code)) return 'busy';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique-violation';
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_FULL' || /^SQLITE_IOERR(_[A-Z]+)?$/.test(code)) return 'unavailable';
  return 'failed';
}

/** PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function classifySqlState(state: string): DatabaseErrorKind {
  if (state === '23505') return 'unique-violation';
  if (POSTGRES_RETRYABLE_STATES.has(state)) return 'busy';
  if (state.startsWith('08') || POSTGRES_SHUTDOWN_STATES.has(state) || state === '53300') return 'unavailable';
  return 'failed';
}

function classifyPrismaCode(code: string): DatabaseErrorKind {
  if (code === 'P2002') return 'unique-violation';
  if (code === 'P2034') return 'busy';
  return UNAVAILABLE_PRISMA_CODES.has(code) ? 'unavailable' : 'failed';
}
