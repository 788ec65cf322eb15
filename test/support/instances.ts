import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import type { Database } from '../../src/db/database.ts';
import { createHttpServer } from '../../src/web/http-server.ts';
import { createTestLogger } from './harness.ts';
import type { Harness } from './harness.ts';

export interface AppInstance {
  readonly baseUrl: string;
  readonly app: App;
  /** This instance's own connection (pool) to the harness's database. */
  readonly database: Database;
  /** The SQL of every statement this instance ran (BEGIN for each transaction). */
  readonly statements: readonly string[];
  /** The same URL on this instance (same path and query, this instance's port). */
  urlOf(url: string): string;
  close(): Promise<void>;
}

export interface InstanceOptions {
  /** Defaults to the harness's configuration (another instance behind the same BASE_URL). */
  config?: Config;
  /** Wraps this instance's connection, e.g. to hold its writes. */
  wrapDatabase?: (database: Database) => Database;
  busyTimeoutMs?: number;
  /** Where its log lines go besides the run's log; defaults to a list of its own. */
  logs?: string[];
}

/**
 * Another instance of the app on the harness's database, with its own connection, on the project's HTTP server:
 * as behind a load balancer, after a restart, or with a changed .env.
 */
export async function startInstance(harness: Harness, options: InstanceOptions = {}): Promise<AppInstance> {
  const statements: string[] = [];
  const connection = openDatabase(harness.database.url, {
    busyTimeoutMs: options.busyTimeoutMs,
    onStatement: (sql) => statements.push(sql),
  });
  const database = options.wrapDatabase?.(connection) ?? connection;
  const logger = createTestLogger(options.logs);
  const app = createApp(options.config ?? harness.config, { database, logger, now: harness.clock.now });
  const server = createHttpServer(logger, () => app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as AddressInfo).port);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    database,
    statements,
    urlOf(url) {
      const moved = new URL(url);
      moved.port = port;
      return moved.href;
    },
    async close() {
      app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close();
    },
  };
}
