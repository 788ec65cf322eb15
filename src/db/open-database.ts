import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PostgresPrismaClient } from '../generated/prisma-pg/client.ts';
import type { Database } from './database.ts';
import { isPostgresUrl, poolSizeOf } from './database-url.ts';
import { openSqliteDatabase } from './sqlite-settings.ts';
import { observeClientStatements, observeStatements } from './statement-observer.ts';
import { tagConnectionFailures } from './postgres-pool.ts';

/** SQLite never waits for another connection's lock on the event loop: writes retry asynchronously (database-retry.ts). */
const BUSY_TIMEOUT_MS = 0;
/** How long a request waits for a PostgreSQL connection before it fails (then a 503 page, not a hang). */
const CONNECT_TIMEOUT_MS = 5000;

export interface DatabaseOptions {
  busyTimeoutMs?: number | undefined;
  /** Sees the SQL of every statement the app runs (tests count writes with it). */
  onStatement?: ((sql: string) => void) | undefined;
  /** Sees the SQL of every statement that goes through Prisma's client rather than straight to the driver (direct-sql.ts). */
  onClientStatement?: ((sql: string) => void) | undefined;
  /** Errors of idle pooled PostgreSQL connections (the server restarted, the network dropped); they must not crash the process. */
  onConnectionError?: ((error: Error) => void) | undefined;
}

/**
 * A Prisma client on a driver adapter (no native query engine): better-sqlite3 for a `file:` URL,
 * node-postgres for a `postgresql://` URL (TLS from its `sslmode`, pool size from its `connection_limit`, connection
 * failures tagged with a SQLSTATE: postgres-pool.ts).
 */
export function openDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  if (isPostgresUrl(databaseUrl)) {
    const onError = options.onConnectionError ?? (() => {});
    const adapter = new PrismaPg(
      { connectionString: databaseUrl, max: poolSizeOf(databaseUrl), connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      { onPoolError: onError, onConnectionError: onError },
    );
    const onStatement = options.onStatement;
    const connect = adapter.connect.bind(adapter);
    adapter.connect = async () => {
      const connected = await connect();
      tagConnectionFailures(connected.underlyingDriver());
      return onStatement === undefined ? connected : observeStatements(connected, onStatement);
    };
    return observeClientStatements(
      (events) => new PostgresPrismaClient({ adapter, ...events }),
      options.onClientStatement,
    ) as unknown as Database;
  }
  return openSqliteDatabase(databaseUrl, {
    busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
    onStatement: options.onStatement,
    onClientStatement: options.onClientStatement,
  });
}
