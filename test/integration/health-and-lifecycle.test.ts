import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/db/open-database.ts';
import { sql } from '../../src/db/sql.ts';
import { parseConfig } from '../../src/config.ts';
import { startServer } from '../../src/start-server.ts';
import type { RunningServer } from '../../src/start-server.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { authorizeAtProvider, createTestLogger, startHarness, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import { waitUntil } from '../support/bounded-waits.ts';
import { HttpBrowser } from '../support/http-browser.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';
import { startPostgresServer, testDatabaseKind } from '../../dev/postgres-server.ts';
import type { PostgresServer } from '../../dev/postgres-server.ts';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

/** A PostgreSQL URL where nothing listens (port 1): every query is refused (ECONNREFUSED), as when the server is down. */
const UNREACHABLE_DATABASE_URL = 'postgresql://o365:unused@127.0.0.1:1/o365';

describe(`health endpoints (${testDatabaseKind()})`, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(() => {
    harness.idp.setFault(null);
  });

  it('when /healthz is called, then 200 without a cookie, a session row or a log line', async () => {
    const logsBefore = harness.logs.length;
    const response = await fetch(`${harness.baseUrl}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(await harness.database.prisma.session.count(), 0);
    assert.equal(harness.logs.length, logsBefore);
  });

  it('when the database is unreachable, then /healthz is still 200 and /readyz is 503 with the reason "database"', async () => {
    const unreachable = openDatabase(UNREACHABLE_DATABASE_URL);
    const server = await startInstance(harness, { wrapDatabase: () => unreachable });
    try {
      assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
      const ready = await fetch(`${server.baseUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'unavailable', reason: 'database' });
      const page = await fetch(`${server.baseUrl}/connect`, { redirect: 'manual' });
      assert.equal(page.status, 503, 'pages say "try again", not 500');
    } finally {
      await server.close();
      await unreachable.close();
    }
  });

  it('when the database answers and discovery is fetchable, then /readyz is 200; when discovery fails and nothing is cached, then 503 "discovery"', async () => {
    const ready = await fetch(`${harness.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });

    const server = await startInstance(harness);
    harness.idp.setFault('discovery-error');
    try {
      const notReady = await fetch(`${server.baseUrl}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), { status: 'unavailable', reason: 'discovery' });
      harness.idp.setFault(null);
      assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200, 'ready as soon as discovery answers');
    } finally {
      await server.close();
    }
  });
});

describe(`npm start stops cleanly on SIGTERM (${testDatabaseKind()})`, () => {
  let idp: StartedIdp;
  let database: TestDatabase;
  let child: ChildProcess | undefined;
  const baseUrl = 'http://127.0.0.1:5698';
  before(async () => {
    database = await createTestDatabase();
    idp = await startIdentityProvider({
      port: 0,
      clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: [`${baseUrl}/connect/get_token`] }],
    });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await idp.close();
    await database.remove();
  });

  // A process that never gets ready or never exits fails the test at this limit; after() then kills it.
  it('when SIGTERM arrives while a request is in flight, then new connections are refused, the request still gets its whole answer, and the process exits 0', {
    timeout: 60_000,
  }, async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-sigterm-'));
    child = spawn(process.execPath, ['--import', TSX_LOADER, SERVER], {
      cwd,
      env: {
        PATH: process.env.PATH,
        O365_APP_ID: TEST_APP_ID,
        O365_APP_KEY: TEST_APP_KEY,
        O365_AUTHORITY_HOST: idp.origin,
        BASE_URL: baseUrl,
        PORT: '5698',
        DATABASE_URL: database.url,
        O365_HTTP_TIMEOUT_MS: '2500',
        SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child!.on('close', (code) => resolve(code)));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('is running')) resolve();
      });
      child!.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child!.on('error', reject);
      child!.once('close', () => reject(new Error(`the server exited early:\n${output}`)));
    });
    try {
      const browser = new HttpBrowser();
      const callbackUrl = await authorizeAtProvider(browser, baseUrl, idp.accounts[0]!);
      // The token endpoint never answers: the callback runs until the app's 2.5 s timeout, then a 503 page.
      idp.setFault('token-hang');
      const tokenRequestsBefore = idp.tokenRequestCount();
      const inFlight = browser.request(callbackUrl);
      // In flight for sure: the callback has reached the provider's token endpoint (no fixed wait, the machine may be slow).
      await waitUntil(() => idp.tokenRequestCount() > tokenRequestsBefore, 'the callback reached the token endpoint');
      child.kill('SIGTERM');
      // The server prints "Stopping…" just before it closes its listener, in the same tick.
      await waitUntil(() => output.includes('Stopping'), 'the server began to stop');
      await assert.rejects(fetch(`${baseUrl}/healthz`), 'no new connections once stopping');
      const page = await inFlight;
      assert.equal(page.status, 503, 'the request in flight finished with its page');
      assert.match(page.body, /Microsoft sign-in is unavailable|try again/i);
      assert.equal(await exited, 0, output);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});

if (testDatabaseKind() === 'postgresql') {
  describe('PostgreSQL outage (embedded PostgreSQL stopped and started)', () => {
    let postgres: PostgresServer;
    let idp: StartedIdp;
    let server: RunningServer;
    const unhandled: unknown[] = [];
    const recordUnhandled = (reason: unknown) => {
      unhandled.push(reason);
    };
    before(async () => {
      process.on('unhandledRejection', recordUnhandled);
      postgres = await startPostgresServer();
      idp = await startIdentityProvider({
        port: 0,
        clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: ['http://127.0.0.1:5697/connect/get_token'] }],
      });
      const parsed = parseConfig({
        O365_APP_ID: TEST_APP_ID,
        O365_APP_KEY: TEST_APP_KEY,
        O365_AUTHORITY_HOST: idp.origin,
        BASE_URL: 'http://127.0.0.1:5697',
        PORT: '0',
        DATABASE_URL: await postgres.createDatabase(),
        SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      });
      assert.ok(parsed.ok);
      server = await startServer(parsed.config, createTestLogger());
    });
    after(async () => {
      process.off('unhandledRejection', recordUnhandled);
      await server.close();
      await idp.close();
      await postgres.close();
    });

    it('when the URL asks for TLS (sslmode=require) and the server offers none, then no query runs in plain text', async () => {
      const url = new URL(await postgres.createDatabase());
      url.searchParams.set('sslmode', 'require');
      const database = openDatabase(url.href);
      try {
        await assert.rejects(database.sql.queryRows(sql`SELECT 1`), /SSL|TLS/i);
      } finally {
        await database.close();
      }
    });

    it('when PostgreSQL stops, then 503 readiness and 503 pages without a crash; when it is back, then the same process serves again', async () => {
      const browser = new HttpBrowser();
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal((await browser.request(`${server.url}/connect`)).status, 302);

      await postgres.stop();
      const down = await fetch(`${server.url}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { status: 'unavailable', reason: 'database' });
      const page = await browser.request(`${server.url}/`);
      assert.equal(page.status, 503);
      assert.match(page.body, /cannot reach its database/);
      assert.equal((await browser.request(`${server.url}/connect`)).status, 503);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive all along');

      await postgres.start();
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal((await browser.request(`${server.url}/`)).status, 200, 'the session saved before the outage is read again');
      assert.equal((await browser.request(`${server.url}/connect`)).status, 302);
      assert.deepEqual(unhandled, []);
    });
  });
}
