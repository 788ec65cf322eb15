import type { Database } from './database.ts';
import { isPostgresUrl } from './database-url.ts';
import { openPostgresDatabase } from './postgres-database.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { BUSY_TIMEOUT_MS } from './sqlite-settings.ts';

export interface DatabaseOptions {
  busyTimeoutMs?: number | undefined;
  /** Sees the SQL of every statement the app runs (tests count writes with it). */
  onStatement?: ((sql: string) => void) | undefined;
  /** Sees the SQL of every statement that goes through Prisma's client rather than straight to the driver adapter (sql.ts). */
  onClientStatement?: ((sql: string) => void) | undefined;
  /** Errors of idle pooled PostgreSQL connections (the server restarted, the network dropped); they must not crash the process. */
  onConnectionError?: ((error: Error) => void) | undefined;
}

/**
 * The database of `databaseUrl` with Prisma's client, for tests and tools (the app opens open-store-database.ts's), on a
 * Prisma driver adapter (no native query engine): better-sqlite3 for a `file:` URL
 * (sqlite-database.ts), node-postgres for a `postgresql://` URL (postgres-database.ts).
 */
export function openDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  if (isPostgresUrl(databaseUrl)) return openPostgresDatabase(databaseUrl, options);
  return openSqliteDatabase(databaseUrl, { ...options, busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
}
