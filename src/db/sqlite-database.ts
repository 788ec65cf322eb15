import { PrismaClient } from '../generated/prisma/client.ts';
import type { Database } from './database.ts';
import { sqlOnPrismaClient } from './sql.ts';
import { prepareSqliteFiles, TunedSQLiteAdapter } from './sqlite-settings.ts';
import { sqliteMaintenance } from './sqlite-store.ts';
import { observeClientStatements } from './statement-observer.ts';

/**
 * A SQLite file: folder 0700, file, -wal and -shm 0600 (existing ones are tightened too), the tuned adapter of
 * sqlite-settings.ts with a busy timeout of `busyTimeoutMs` (0: never wait on the event loop), Prisma's client on it,
 * and the stores' statements straight on its connection once the client has opened it.
 * `onStatement` sees the SQL of every statement (tests count the writes of a request with it), `onClientStatement` those
 * that go through Prisma's client rather than straight to the adapter.
 */
export function openSqliteDatabase(
  databaseUrl: string,
  options: {
    busyTimeoutMs: number;
    onStatement?: ((sql: string) => void) | undefined;
    onClientStatement?: ((sql: string) => void) | undefined;
  },
): Database {
  prepareSqliteFiles(databaseUrl);
  const adapter = new TunedSQLiteAdapter({ url: databaseUrl, timeout: options.busyTimeoutMs }, options.onStatement);
  const prisma = observeClientStatements((events) => new PrismaClient({ adapter, ...events }), options.onClientStatement);
  const statements = sqlOnPrismaClient(prisma, () => adapter.connected?.adapter);
  return {
    provider: 'sqlite',
    sql: statements,
    prisma,
    ...sqliteMaintenance(adapter, statements),
    close: () => prisma.$disconnect(),
  };
}
