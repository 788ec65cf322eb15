import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/prisma/client.ts';
import { ensureDatabaseDirectory } from './database-url.ts';

export type Database = InstanceType<typeof PrismaClient>;

/** How long SQLite waits for a lock held by another connection before it reports "busy". */
const BUSY_TIMEOUT_MS = 5000;

/** A Prisma client on the better-sqlite3 driver adapter (no native query engine). */
export function openDatabase(databaseUrl: string, options: { busyTimeoutMs?: number } = {}): Database {
  ensureDatabaseDirectory(databaseUrl);
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl, timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS }) });
}
