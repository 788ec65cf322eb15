import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma-pg/client.ts';
import type { Database, PrismaDatabaseClient } from './database.ts';
import { poolSizeOf } from './database-url.ts';
import { tagConnectionFailures } from './postgres-pool.ts';
import { observeAdapterStatements } from './prisma-adapter-internals.ts';
import { sqlThroughPrismaClient } from './sql.ts';
import { observeClientStatements } from './statement-observer.ts';

/** How long a request waits for a PostgreSQL connection before it fails (then a 503 page, not a hang). */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * A node-postgres pool (TLS from the URL's `sslmode`, its size from `connection_limit`, connection failures tagged with
 * a SQLSTATE: postgres-pool.ts) and Prisma's client on it. The stores' statements take the seam's fallback here
 * (`$queryRaw` through the client, sql.ts): the benchmarks measure SQLite only, and so every PostgreSQL test runs the
 * fallback. `onStatement` sees every statement the pool runs. `onConnectionError` hears the errors
 * of idle pooled connections (the server restarted, the network dropped); they must not crash the process.
 */
export function openPostgresDatabase(
  databaseUrl: string,
  options: {
    onStatement?: ((sql: string) => void) | undefined;
    onClientStatement?: ((sql: string) => void) | undefined;
    onConnectionError?: ((error: Error) => void) | undefined;
  },
): Database {
  const onError = options.onConnectionError ?? (() => {});
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: poolSizeOf(databaseUrl), connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    { onPoolError: onError, onConnectionError: onError },
  );
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async (): Promise<Awaited<ReturnType<typeof connect>>> => {
    const pool = await connect();
    tagConnectionFailures(pool.underlyingDriver());
    if (options.onStatement !== undefined) observeAdapterStatements(pool, options.onStatement);
    return pool;
  };
  const prisma = observeClientStatements(
    (events) => new PrismaClient({ adapter, ...events }),
    options.onClientStatement,
  ) as unknown as PrismaDatabaseClient;
  return {
    provider: 'postgres',
    sql: sqlThroughPrismaClient(prisma),
    prisma,
    eraseDeletedData: () => true,
    compact: async () => true,
    close: () => prisma.$disconnect(),
  };
}
