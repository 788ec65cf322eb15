import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { startServer } from '../../src/start-server.ts';
import type { RunningServer } from '../../src/start-server.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { freePort } from '../../dev/free-port.ts';
import { launchChromium } from './chromium.ts';
import { createTestDatabase } from './database.ts';
import type { TestDatabase } from './database.ts';
import { createTestLogger } from './harness.ts';
import { recordTestSecrets } from './test-log.ts';

/** Headless Chromium and the real server (startServer, as npm start runs it) on a free port, the local provider and a test database. */
export interface BrowserApp {
  readonly browser: Browser;
  readonly idp: StartedIdp;
  readonly database: TestDatabase;
  readonly config: Config;
  /** Stops the server and starts it again on the same settings and database, as a restart of npm start. */
  restart(): Promise<void>;
  /** Stops everything; `secrets` (cookie values a test saw) join the provider's and the app's in the run's secret list (S35). */
  close(secrets?: readonly string[]): Promise<void>;
}

export async function startBrowserApp(): Promise<BrowserApp> {
  const browser = await launchChromium();
  const database = await createTestDatabase();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const appId = crypto.randomUUID();
  const appKey = crypto.randomBytes(24).toString('base64url');
  const idp = await startIdentityProvider({
    port: 0,
    clients: [
      { clientId: appId, clientSecret: appKey, redirectUris: [`${baseUrl}/connect/get_token`], postLogoutRedirectUris: [`${baseUrl}/`] },
    ],
  });
  const parsed = parseConfig({
    O365_APP_ID: appId,
    O365_APP_KEY: appKey,
    O365_AUTHORITY_HOST: idp.origin,
    GRAPH_BASE_URL: idp.graphBaseUrl,
    BASE_URL: baseUrl,
    PORT: String(port),
    DATABASE_URL: database.url,
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('\n'));
  const config = parsed.config;
  let server: RunningServer = await startServer(config, createTestLogger());
  return {
    browser,
    idp,
    database,
    config,
    async restart() {
      await server.close();
      server = await startServer(config, createTestLogger());
    },
    async close(secrets = []) {
      // S35 searches every log of the run for these.
      recordTestSecrets([
        ...idp.issuedSecrets,
        ...secrets,
        config.clientCredential.kind === 'secret' ? config.clientCredential.secret : undefined,
        config.sessionSecret,
        config.tokenEncryptionKey.toString('base64'),
      ]);
      await browser.close();
      await server.close();
      await idp.close();
      await database.remove();
    },
  };
}
