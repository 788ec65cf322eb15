import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.ts';
import type { Database } from '../../src/db.ts';
import { createTestLogger } from './harness.ts';
import type { Harness } from './harness.ts';

export interface AppInstance {
  readonly baseUrl: string;
  /** The same URL on this instance (same path and query, this instance's port). */
  urlOf(url: string): string;
  close(): Promise<void>;
}

/** Another instance of the app on the harness's database and settings, as behind a load balancer or after a restart. */
export async function startInstance(harness: Harness, options: { database?: Database } = {}): Promise<AppInstance> {
  const app = createApp(harness.config, { database: options.database ?? harness.database.prisma, logger: createTestLogger(), now: harness.clock.now });
  const server = http.createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as AddressInfo).port);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    urlOf(url) {
      const moved = new URL(url);
      moved.port = port;
      return moved.href;
    },
    async close() {
      app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The database with writes to the Session table held until that table has been read `reads` times:
 * every copy of a request has loaded its session before any of them saves it.
 */
export function holdSessionWritesUntilRead(database: Database, reads: number): Database {
  let seen = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  return database.$extends({
    query: {
      session: {
        async $allOperations({ operation, args, query }) {
          if (!operation.startsWith('find')) {
            await released;
            return query(args);
          }
          const result = await query(args);
          seen += 1;
          if (seen >= reads) release();
          return result;
        },
      },
    },
  }) as unknown as Database;
}
