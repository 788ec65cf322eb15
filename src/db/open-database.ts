import type { Database, DatabaseOptions } from './database.ts';
import { isPostgresUrl } from './database-url.ts';
import { openPostgresDatabase } from './postgres-database.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { BUSY_TIMEOUT_MS } from './sqlite-settings.ts';

/**
 * The database of `databaseUrl` with Prisma's client, for tests and tools (the app opens open-store-database.ts's), on a
 * Prisma driver adapter (no native query engine): better-sqlite3 for a `file:` URL
 * (sqlite-database.ts), node-postgres for a `postgresql://` URL (postgres-database.ts).
 */
export function openDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  if (isPostgresUrl(databaseUrl)) return openPostgresDatabase(databaseUrl, options);
  return openSqliteDatabase(databaseUrl, Object.assign({}, options, { busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS }));
}
