import type { DatabaseOptions, StoreDatabase } from './database.ts';
import { isPostgresUrl } from './database-url.ts';
import { BUSY_TIMEOUT_MS } from './sqlite-settings.ts';
import { openSqliteStore } from './sqlite-store.ts';

/**
 * The database of `databaseUrl` for the app's stores (the server, `npm run token`): SQLite straight on its driver adapter,
 * without Prisma's client (sqlite-store.ts); PostgreSQL as open-database.ts opens it, its modules (node-postgres,
 * Prisma's client) loaded only then.
 */
export async function openStoreDatabase(databaseUrl: string, options: DatabaseOptions = {}): Promise<StoreDatabase> {
  if (isPostgresUrl(databaseUrl)) {
    const { openPostgresDatabase } = await import('./postgres-database.ts');
    return openPostgresDatabase(databaseUrl, options);
  }
  return openSqliteStore(databaseUrl, Object.assign({}, options, { busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS }));
}
