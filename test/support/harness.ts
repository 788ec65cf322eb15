import crypto from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { AppLogger } from '../../src/log.ts';
import { createHttpServer } from '../../src/web/http-server.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';
import { appendTestLog, recordTestSecrets } from './test-log.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { IdpClient, IdpResource, StartedIdp, TestAccount } from '../../dev/idp/index.ts';
import { createTestDatabase } from './database.ts';
import type { TestDatabase } from './database.ts';
import { HttpBrowser } from './http-browser.ts';
import { signInAtProvider } from './provider-sign-in.ts';

export { readForm } from './provider-sign-in.ts';

export const TEST_APP_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
export const TEST_APP_KEY = 'local~test~secret.not-a-real-one';

/** The client secret the app was configured with; throws when it runs with a certificate or a federated credential. */
export function clientSecretOf(config: Config): string {
  if (config.clientCredential.kind !== 'secret')
    throw new Error(`the app runs with a ${config.clientCredential.kind}, not a client secret`);
  return config.clientCredential.secret;
}

/** What of the app's credential must never be logged: the secret, or each line of the private key (PEM). */
export function credentialSecretsOf(config: Config): string[] {
  const credential = config.clientCredential;
  if (credential.kind === 'secret') return [credential.secret];
  if (credential.kind === 'federated') return [];
  const pem = String(credential.certificate.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

/** A clock the app reads instead of Date.now, moved forward by tests (pending sign-ins, sessions, key cache). */
export interface TestClock {
  now(): number;
  /** Moves the clock forward; it never goes back, as the key cache's cooldown expects. */
  advance(ms: number): void;
}

export interface Harness {
  readonly baseUrl: string;
  readonly config: Config;
  readonly idp: StartedIdp;
  readonly database: TestDatabase;
  readonly app: App;
  /** The HTTP server the app answers on, as the app's own start builds it (http-server.ts). */
  readonly server: http.Server;
  readonly logs: string[];
  readonly clock: TestClock;
  /** A new browser with an empty cookie jar. */
  browser(): HttpBrowser;
  /** Starts a sign-in and signs in at the local provider; returns the callback URL the provider redirected to (not yet visited). */
  authorize(browser: HttpBrowser, account?: TestAccount): Promise<string>;
  close(): Promise<void>;
}

/** The real app (its own config, a temporary SQLite file) and the local provider, both on loopback ports. */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    busyTimeoutMs?: number;
    accessTokenTtlSeconds?: number;
    /** The app's credentials as registered at the provider (default: the secret TEST_APP_KEY only). */
    registration?: Pick<IdpClient, 'clientSecret' | 'certificates' | 'federatedCredentials'>;
    /** The provider's resources besides Graph (default: its DEFAULT_IDP_RESOURCES). */
    resources?: IdpResource[];
  } = {},
): Promise<Harness> {
  const database = await createTestDatabase({ busyTimeoutMs: options.busyTimeoutMs });
  const logs: string[] = [];
  const logger = createTestLogger(logs);
  let app: App | undefined;
  // The tests' browsers (500 at once in S47) all connect from 127.0.0.1: here they are many clients, not one.
  // The per-address cap is proven on its own (n-connections-per-address.test.ts).
  const server = createHttpServer(logger, () => app!.handler, { ...HTTP_LIMITS, maxConnectionsPerAddress: HTTP_LIMITS.maxConnections });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp = await startIdentityProvider({
    port: 0,
    // A BASE_URL override (a TLS proxy in front) is registered too, as an operator would.
    clients: [
      {
        clientId: TEST_APP_ID,
        ...(options.registration ?? { clientSecret: TEST_APP_KEY }),
        redirectUris: [...new Set([baseUrl, options.env?.BASE_URL ?? baseUrl])].map((url) => `${url}/connect/get_token`),
        postLogoutRedirectUris: [`${baseUrl}/`],
      },
    ],
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    resources: options.resources,
  });
  const parsed = parseConfig({
    O365_APP_ID: TEST_APP_ID,
    O365_APP_KEY: TEST_APP_KEY,
    O365_AUTHORITY_HOST: idp.origin,
    GRAPH_BASE_URL: idp.graphBaseUrl,
    BASE_URL: baseUrl,
    DATABASE_URL: database.url,
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    O365_HTTP_TIMEOUT_MS: '3000',
    SIGN_IN_RATE_LIMIT: '1000000',
    ...options.env,
  });
  if (!parsed.ok) throw new Error(`test configuration is invalid: ${parsed.problems.join('; ')}`);
  let offset = 0;
  const clock: TestClock = {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
  app = createApp(parsed.config, {
    database: database.handle,
    logger,
    now: clock.now,
  });
  const browsers: HttpBrowser[] = [];

  return {
    baseUrl,
    config: parsed.config,
    idp,
    database,
    app,
    server,
    logs,
    clock,
    browser: () => {
      const browser = new HttpBrowser();
      browsers.push(browser);
      return browser;
    },
    authorize: (browser, account = idp.accounts[0]!) =>
      signInAtProvider(browser, `${baseUrl}/connect`, (url) => url.startsWith(`${baseUrl}/connect/get_token`), account),
    async close() {
      recordTestSecrets([
        ...idp.issuedSecrets,
        ...browsers.flatMap((browser) => browser.seenCookieValues()),
        ...credentialSecretsOf(parsed.config),
        parsed.config.sessionSecret,
        parsed.config.tokenEncryptionKey.toString('base64'),
      ]);
      app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
      await database.remove();
    },
  };
}

/** The app's logger for tests: lines go to the harness and, under npm test, to the run's log file (searched for S35). */
export function createTestLogger(logs: string[] = []): AppLogger {
  return createLogger((line) => {
    logs.push(line);
    appendTestLog(line);
  });
}

/** Drives the local provider's sign-in form over HTTP, as a browser without JavaScript would. */
export function authorizeAtProvider(browser: HttpBrowser, baseUrl: string, account: TestAccount): Promise<string> {
  return signInAtProvider(browser, `${baseUrl}/connect`, (url) => url.startsWith(`${baseUrl}/connect/get_token`), account);
}
