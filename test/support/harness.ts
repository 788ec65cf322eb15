import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { Logger } from '../../src/log.ts';
import { MAX_HEADER_BYTES } from '../../src/security/request-limits.ts';
import { appendTestLog, recordTestSecrets } from './test-log.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp, TestAccount } from '../../dev/idp/index.ts';
import { createTestDatabase } from './database.ts';
import type { TestDatabase } from './database.ts';
import { HttpBrowser } from './http-browser.ts';
import type { Page } from './http-browser.ts';

export const TEST_APP_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
export const TEST_APP_KEY = 'local~test~secret.not-a-real-one';

/** Captured log lines of every harness in this process, for the check that no secret is logged. */
export const capturedLogs: string[] = [];

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
  readonly logs: string[];
  readonly clock: TestClock;
  /** A new browser with an empty cookie jar. */
  browser(): HttpBrowser;
  /** Starts a sign-in and signs in at the local provider; returns the callback URL the provider redirected to (not yet visited). */
  authorize(browser: HttpBrowser, account?: TestAccount): Promise<string>;
  close(): Promise<void>;
}

/** The real app (its own config, a temporary SQLite file) and the local provider, both on loopback ports. */
export async function startHarness(options: { env?: Record<string, string>; busyTimeoutMs?: number; accessTokenTtlSeconds?: number } = {}): Promise<Harness> {
  const database = await createTestDatabase({ busyTimeoutMs: options.busyTimeoutMs });
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp = await startIdentityProvider({
    port: 0,
    // A BASE_URL override (a TLS proxy in front) is registered too, as an operator would.
    clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: [...new Set([baseUrl, options.env?.BASE_URL ?? baseUrl])].map((url) => `${url}/connect/get_token`), postLogoutRedirectUris: [`${baseUrl}/`] }],
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
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
  const logs: string[] = [];
  let offset = 0;
  const clock: TestClock = { now: () => Date.now() + offset, advance: (ms) => { offset += ms; } };
  const app = createApp(parsed.config, {
    database: database.prisma,
    logger: createTestLogger(logs),
    now: clock.now,
  });
  server.on('request', app.handler);
  const browsers: HttpBrowser[] = [];

  return {
    baseUrl,
    config: parsed.config,
    idp,
    database,
    app,
    logs,
    clock,
    browser: () => {
      const browser = new HttpBrowser();
      browsers.push(browser);
      return browser;
    },
    authorize: (browser, account = idp.accounts[0]!) => authorizeAtProvider(browser, baseUrl, account),
    async close() {
      recordTestSecrets([...idp.issuedSecrets, ...browsers.flatMap((browser) => browser.seenCookieValues()),
        parsed.config.appKey, parsed.config.sessionSecret, parsed.config.tokenEncryptionKey.toString('base64')]);
      app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
      await database.remove();
    },
  };
}

/** The app's logger for tests: lines go to the harness, to this process and to the run's log file (for S35). */
export function createTestLogger(logs: string[] = []): Logger {
  return createLogger((line) => {
    logs.push(line);
    capturedLogs.push(line);
    appendTestLog(line);
  });
}

/** Drives the local provider's sign-in form over HTTP, as a browser without JavaScript would. */
export async function authorizeAtProvider(browser: HttpBrowser, baseUrl: string, account: TestAccount): Promise<string> {
  const isCallback = (url: string) => url.startsWith(`${baseUrl}/connect/get_token`);
  const loginPage = await browser.follow(`${baseUrl}/connect`, { stopAt: isCallback });
  const form = readForm(loginPage);
  const result = await browser.follow(form.action, {
    stopAt: isCallback,
    form: { ...form.hidden, [form.usernameField]: account.username, [form.passwordField]: account.password },
  });
  if (result.location === undefined || !isCallback(result.location)) {
    throw new Error(`the provider did not redirect back to the app (status ${result.status}): ${result.body.slice(0, 300)}`);
  }
  return result.location;
}

/** The sign-in form of the local provider: its action, hidden fields and credential field names. */
export function readForm(page: Page): { action: string; hidden: Record<string, string>; usernameField: string; passwordField: string } {
  const formTag = page.body.match(/<form[^>]*action="([^"]+)"[^>]*>/i);
  if (formTag === null) throw new Error(`no form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  const hidden: Record<string, string> = {};
  for (const input of page.body.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]+)"/)?.[1];
    const value = input[0].match(/value="([^"]*)"/)?.[1];
    if (name !== undefined) hidden[name] = decodeEntities(value ?? '');
  }
  const usernameField = page.body.match(/<input[^>]*type="email"[^>]*name="([^"]+)"/i)?.[1]
    ?? page.body.match(/<input[^>]*name="([^"]+)"[^>]*type="email"/i)?.[1] ?? 'login';
  const passwordField = page.body.match(/<input[^>]*type="password"[^>]*name="([^"]+)"/i)?.[1]
    ?? page.body.match(/<input[^>]*name="([^"]+)"[^>]*type="password"/i)?.[1] ?? 'password';
  return { action: new URL(decodeEntities(formTag[1]!), page.url).href, hidden, usernameField, passwordField };
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
