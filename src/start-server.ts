import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createApp } from './app.ts';
import type { Discovery } from './auth/discovery.ts';
import { openStoreDatabase } from './db/open-store-database.ts';
import type { AppLogger } from './log.ts';
import { isAppError } from './errors.ts';
import { applyMigrations } from './db/migrations.ts';
import { createHttpServer } from './web/http-server.ts';
import { describeClientCredential } from './auth/client-credential.ts';

/** How long a stopping server lets requests in flight finish (SIGTERM). */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  /** The address it listens on, e.g. http://127.0.0.1:5000. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Applies pending migrations (unless MIGRATE_ON_START=false), opens the database, checks the provider's discovery
 * document (through `options.discovery` when the caller already asked for it), and listens. Used by `npm start`,
 * `npm run demo` and the end-to-end tests.
 */
export async function startServer(config: Config, logger: AppLogger, options: { discovery?: Discovery } = {}): Promise<RunningServer> {
  if (config.migrateOnStart) {
    const applied = await applyMigrations(config.databaseUrl);
    if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  }
  const database = await openStoreDatabase(config.databaseUrl, {
    onConnectionError: (error) =>
      logger.warn('database connection lost; requests get a 503 page until it is back', { reason: error.message }),
  });
  const app = createApp(config, { database, logger, discovery: options.discovery });

  try {
    await app.discovery.getMetadata();
  } catch (error) {
    // A document that does not fit the settings stops the start; its message says what to fix.
    if (isAppError(error, 'discovery_mismatch')) {
      await database.close();
      app.close();
      throw error;
    }
    // Unreachable now is not fatal: the first sign-in tries again and shows a clear page if it still fails.
    logger.warn('Microsoft sign-in is not reachable yet; sign-ins will retry', { authority: config.authorityHost });
  }

  const server = createHttpServer(logger, () => app.handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info('listening', {
    url,
    baseUrl: config.baseUrl,
    redirectUri: config.redirectUri,
    tenant: config.tenant,
    authority: config.authorityHost,
    // Which credential the token requests carry: its kind and public thumbprint, never a secret.
    credential: describeClientCredential(config.clientCredential),
  });

  return {
    url,
    async close() {
      app.close();
      // Stop accepting; requests in flight may finish for up to SHUTDOWN_GRACE_MS, then what is left is cut.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drain = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearInterval(drain);
      clearTimeout(deadline);
      await database.close();
    },
  };
}
