import type { PrismaClient } from './generated/prisma/client.ts';
import { openSqliteDatabase } from './sqlite-settings.ts';

export type Database = InstanceType<typeof PrismaClient>;

/** SQLite never waits for another connection's lock on the event loop: writes retry asynchronously (database-retry.ts). */
const BUSY_TIMEOUT_MS = 0;

/** A Prisma client on the better-sqlite3 driver adapter (no native query engine). */
export function openDatabase(databaseUrl: string, options: { busyTimeoutMs?: number; onStatement?: (sql: string) => void } = {}): Database {
  return openSqliteDatabase(databaseUrl, { busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS, onStatement: options.onStatement });
}
