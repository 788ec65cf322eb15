import type { StoreDatabase } from './database.ts';
import { retryWhenBusy } from './database-retry.ts';
import { sql, sqlOnConnectingAdapter } from './sql.ts';
import type { SqlDatabase } from './sql.ts';
import { prepareSqliteFiles, TunedSQLiteAdapter } from './sqlite-settings.ts';

/**
 * A SQLite file for the app's stores alone: the files prepared as sqlite-database.ts does, the tuned adapter of
 * sqlite-settings.ts connected at the first statement, every statement on the direct path (sql.ts). No Prisma client
 * is built or loaded, so `npm start` and `npm run token` skip its runtime. `onStatement` sees the SQL of every statement.
 */
export function openSqliteStore(
  databaseUrl: string,
  options: { busyTimeoutMs: number; onStatement?: ((sql: string) => void) | undefined },
): StoreDatabase {
  prepareSqliteFiles(databaseUrl);
  const adapter = new TunedSQLiteAdapter({ url: databaseUrl, timeout: options.busyTimeoutMs }, options.onStatement);
  const statements = sqlOnConnectingAdapter(() => adapter.connect());
  return {
    provider: 'sqlite',
    sql: statements,
    ...sqliteMaintenance(adapter, statements),
    close: () => statements.disconnect(),
  };
}

/** Erasing deleted rows and compacting, on the connection the adapter opened last (the direct path's). */
export function sqliteMaintenance(
  adapter: TunedSQLiteAdapter,
  statements: SqlDatabase,
): Pick<StoreDatabase, 'eraseDeletedData' | 'compact'> {
  return {
    eraseDeletedData: () => adapter.connected?.checkpoint.request() ?? true,
    async compact(options) {
      await retryWhenBusy(() => statements.run(sql`VACUUM`), { timeoutMs: options.waitMs });
      return adapter.connected?.checkpoint.waitFor({ timeoutMs: options.waitMs, onWaiting: options.onWaiting }) ?? true;
    },
  };
}
