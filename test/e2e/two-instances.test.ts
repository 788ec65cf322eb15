import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { assertChromiumInstalled, launchChromium } from '../support/chromium.ts';
import type { Browser, BrowserContext, Page as ChromiumPage } from 'playwright-core';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { startRoundRobinProxy } from '../../dev/round-robin-proxy.ts';
import type { RoundRobinProxy } from '../../dev/round-robin-proxy.ts';
import { authorizeAtProvider } from '../support/harness.ts';
import { HttpBrowser } from '../support/http-browser.ts';
import type { Page } from '../support/http-browser.ts';
import { startPostgresServer } from '../../dev/postgres-server.ts';
import type { PostgresServer } from '../../dev/postgres-server.ts';
import { appendTestLog, recordTestSecrets } from '../support/test-log.ts';
import { freePort } from '../../dev/free-port.ts';
import { COMMAND_TIME_LIMIT_MS, PROCESS_STOP_LIMIT_MS } from '../support/bounded-waits.ts';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
const MIGRATIONS = fileURLToPath(new URL('../../prisma/postgresql/migrations', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
const SIGN_IN_RATE_LIMIT = 20;

/** What each step saw, printed at the end (the closing note of issue 9 quotes it). */
const observed: string[] = [];
function note(line: string): void {
  observed.push(line);
}

/** The footer's instance label of a page's HTML as the server sent it, or undefined. */
function instanceOf(html: string): string | undefined {
  return html.match(/<code data-instance>([^<]+)<\/code>/)?.[1];
}

/** The footer's instance label of the page Chromium shows. */
async function labelIn(page: ChromiumPage): Promise<string> {
  return (await page.locator('[data-instance]').textContent()) ?? '?';
}

function signedInAs(page: Page): boolean {
  return /Signed in as /.test(page.body);
}

/** One `npm start` process (src/server.ts, as npm start runs it compiled), with its own port and INSTANCE_NAME. */
class InstanceProcess {
  readonly origin: string;
  output = '';
  #child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
    readonly cwd: string,
  ) {
    this.origin = `http://127.0.0.1:${port}`;
  }

  /** Resolves once the process says it is running; rejects with its output when it exits first or is not running in time. */
  start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, SERVER], {
      cwd: this.cwd,
      env: { PATH: process.env.PATH, ...this.env, PORT: String(this.port), INSTANCE_NAME: this.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let output = '';
    return new Promise((resolve, reject) => {
      const notRunning = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIME_LIMIT_MS);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        this.output += chunk.toString();
        if (!output.includes('is running')) return;
        clearTimeout(notRunning);
        resolve();
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      child.on('error', (error) => {
        clearTimeout(notRunning);
        reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(notRunning);
        reject(new Error(`${this.name} exited (${code ?? signal}) before it was running:\n${output}`));
      });
    });
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.alive) return Promise.resolve();
    // Past its own 10 s shutdown grace, an instance that has not exited is killed: a failing test must not hang.
    const killer = setTimeout(() => child.kill('SIGKILL'), PROCESS_STOP_LIMIT_MS);
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve())).finally(() => clearTimeout(killer));
    child.kill(signal);
    return closed;
  }

  /** The same URL on this instance, bypassing the proxy. */
  urlOf(url: string): string {
    const moved = new URL(url);
    moved.port = String(this.port);
    return moved.href;
  }
}

describe('two instances behind a round-robin proxy that is not sticky, on one PostgreSQL database', () => {
  let postgres: PostgresServer;
  let databaseUrl: string;
  let idp: StartedIdp;
  let proxy: RoundRobinProxy;
  let chromiumBrowser: Browser;
  let context: BrowserContext;
  let page: ChromiumPage;
  let instances: [InstanceProcess, InstanceProcess];
  let baseUrl: string;
  /** The browser that won the race of the same callback on both instances (signed in). */
  let winner: HttpBrowser;
  const downReports: string[] = [];
  const secrets: string[] = [];
  let workFolder: string;

  before(async () => {
    assertChromiumInstalled();
    postgres = await startPostgresServer();
    databaseUrl = await postgres.createDatabase();
    const [proxyPort, portA, portB] = [await freePort(), await freePort(), await freePort()];
    baseUrl = `http://127.0.0.1:${proxyPort}`;
    const appId = crypto.randomUUID();
    const appKey = crypto.randomBytes(24).toString('base64url');
    idp = await startIdentityProvider({
      port: 0,
      clients: [
        { clientId: appId, clientSecret: appKey, redirectUris: [`${baseUrl}/connect/get_token`], postLogoutRedirectUris: [`${baseUrl}/`] },
      ],
    });
    workFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-two-instances-'));
    // Everything that must be equal on every instance (docs/DEPLOYING.md); only PORT and INSTANCE_NAME differ.
    const shared = {
      O365_APP_ID: appId,
      O365_APP_KEY: appKey,
      O365_AUTHORITY_HOST: idp.origin,
      GRAPH_BASE_URL: idp.graphBaseUrl,
      BASE_URL: baseUrl,
      DATABASE_URL: databaseUrl,
      TRUST_PROXY: 'loopback',
      SIGN_IN_RATE_LIMIT: String(SIGN_IN_RATE_LIMIT),
      SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      O365_HTTP_TIMEOUT_MS: '5000',
    };
    secrets.push(appKey, shared.SESSION_SECRET, shared.TOKEN_ENCRYPTION_KEY);
    instances = [
      new InstanceProcess('instance-a', portA, shared, workFolder),
      new InstanceProcess('instance-b', portB, shared, workFolder),
    ];
    proxy = await startRoundRobinProxy({
      upstreams: instances.map((instance) => instance.origin),
      port: proxyPort,
      onUpstreamDown: (upstream) => downReports.push(upstream),
    });
    chromiumBrowser = await launchChromium();
    context = await chromiumBrowser.newContext();
    page = await context.newPage();
  });

  after(async () => {
    recordTestSecrets([
      ...(idp?.issuedSecrets ?? []),
      ...secrets,
      ...((await context?.cookies().catch(() => [])) ?? []).map((cookie) => cookie.value),
    ]);
    // S35 searches the run's log for secrets: the instances' JSON log lines belong to it.
    for (const line of (instances ?? []).flatMap((instance) => instance.output.split('\n'))) if (line.startsWith('{')) appendTestLog(line);
    await chromiumBrowser?.close();
    await Promise.all((instances ?? []).map((instance) => instance.kill('SIGTERM')));
    await proxy?.close();
    await idp?.close();
    await postgres?.close();
    if (workFolder !== undefined) fs.rmSync(workFolder, { recursive: true, force: true });
    console.log(`\nTwo instances, what each step observed:\n${observed.map((line) => `  - ${line}`).join('\n')}\n`);
  });

  /** A browser that carries Chromium's session cookie, for requests sent straight to one instance or many at once. */
  async function chromiumSession(): Promise<HttpBrowser> {
    const browser = new HttpBrowser();
    for (const cookie of await context.cookies(baseUrl)) browser.setCookie(cookie.name, cookie.value);
    return browser;
  }

  it('when both start at the same moment on an empty database, then both apply the migrations under the advisory lock (each once) and come up', async () => {
    await Promise.all(instances.map((instance) => instance.start()));
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
        'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
      );
      const expected = fs
        .readdirSync(MIGRATIONS)
        .filter((name) => fs.statSync(path.join(MIGRATIONS, name)).isDirectory())
        .sort();
      assert.deepEqual(
        rows.map((row) => row.migration_name),
        expected,
        'each migration recorded exactly once',
      );
      assert.ok(rows.every((row) => row.finished_at !== null));
      note(`started at once on an empty database: both came up; _prisma_migrations holds ${rows.length} migrations, each once`);
    } finally {
      await client.end();
    }
    for (const instance of instances) assert.equal((await fetch(`${instance.origin}/readyz`)).status, 200, `${instance.name} ready`);
  });

  it('when a person signs in with Chromium through the proxy, then pages come from both instances and the sign-in holds on both', async () => {
    const labels: string[] = [];
    await page.goto(`${baseUrl}/`);
    labels.push(await labelIn(page));
    await page.getByRole('link', { name: 'Sign in with Office 365' }).click();
    const account = idp.accounts[0]!;
    await page.getByLabel('Email').fill(account.username);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/`);
    await page.getByRole('heading', { name: `Signed in as ${account.displayName}` }).waitFor();
    labels.push(await labelIn(page));
    for (let reload = 0; reload < 8 && new Set(labels).size < 2; reload += 1) {
      // Subresources share the rotation: should every page view take an even number of requests, one more shifts it.
      if (labels.at(-1) === labels.at(-2) && reload % 2 === 1) await fetch(`${baseUrl}/healthz`);
      await page.reload();
      await page.getByRole('heading', { name: `Signed in as ${account.displayName}` }).waitFor();
      labels.push(await labelIn(page));
    }
    assert.deepEqual([...new Set(labels)].sort(), ['instance-a', 'instance-b'], `pages came from: ${labels.join(', ')}`);
    const direct = await chromiumSession();
    for (const instance of instances) assert.ok(signedInAs(await direct.request(`${instance.origin}/`)), `signed in on ${instance.name}`);
    note(
      `Chromium sign-in through the proxy: pages served by ${labels.join(' → ')}; signed in on both; requests answered per instance ${proxy.answeredBy().join(' / ')}`,
    );
  });

  it('S48: when the same callback reaches both instances at once, then the provider redeems the code once and at most one browser is signed in', async () => {
    const browser = new HttpBrowser();
    const callbackUrl = await authorizeAtProvider(browser, baseUrl, idp.accounts[1]!);
    const copy = new HttpBrowser();
    copy.setCookie('o365signin.sid', browser.cookie('o365signin.sid')!);
    const tokenRequests = idp.tokenRequestCount();
    const [first, second] = await Promise.all([
      browser.request(instances[0].urlOf(callbackUrl)),
      copy.request(instances[1].urlOf(callbackUrl)),
    ]);
    assert.equal(idp.tokenRequestCount() - tokenRequests, 1, 'one redemption at the provider');
    const statuses = [first.status, second.status];
    assert.equal(statuses.filter((status) => status === 303).length, 1, `one sign-in wins: ${statuses.join(', ')}`);
    assert.ok(
      statuses.some((status) => status >= 400 && status < 500),
      'the other gets an error page',
    );
    const signedIn = [];
    for (const candidate of [browser, copy]) {
      for (const instance of instances) if (signedInAs(await candidate.request(`${instance.origin}/`))) signedIn.push(candidate);
    }
    assert.equal(new Set(signedIn).size, 1, 'at most one browser signed in, on both instances');
    winner = signedIn[0]!;
    note(
      `the same callback sent to both instances at once: answers ${statuses.join(' and ')}, ${idp.tokenRequestCount() - tokenRequests} token request at the provider, 1 browser signed in`,
    );
  });

  it('S49: when 20 page views of a token near expiry arrive at once, spread over both instances, then exactly one refresh reaches the provider', async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      // As if the token had been issued almost an hour ago: it expires in a minute, inside the five-minute refresh window.
      await client.query(`UPDATE "TokenSet" SET "expiresAt" = now() + interval '60 seconds'`);
    } finally {
      await client.end();
    }
    const browser = await chromiumSession();
    const refreshesBefore = idp.tokenRequests.filter((request) => request.grantType === 'refresh_token').length;
    const answeredBefore = proxy.answeredBy();
    const pages = await Promise.all(Array.from({ length: 20 }, () => browser.request(`${baseUrl}/`)));
    const refreshes = idp.tokenRequests.filter((request) => request.grantType === 'refresh_token').length - refreshesBefore;
    const spread = proxy.answeredBy().map((count, index) => count - answeredBefore[index]!);
    assert.deepEqual(
      pages.map((view) => view.status),
      Array(20).fill(200),
    );
    assert.ok(pages.every(signedInAs));
    assert.ok(
      spread.every((count) => count >= 5),
      `spread over both: ${spread.join(' / ')}`,
    );
    assert.equal(refreshes, 1, 'one refresh at the provider');
    const newest = idp.issuedAccessTokens.at(-1)!;
    assert.ok(
      pages.every((view) => view.body.includes(newest)),
      'every page shows the refreshed token',
    );
    const labels = pages.map((view) => instanceOf(view.body));
    note(
      `20 simultaneous page views of a token expiring in 60 s: ${labels.filter((label) => label === 'instance-a').length} served by instance-a, ${labels.filter((label) => label === 'instance-b').length} by instance-b, ${refreshes} refresh at the provider, all show the new token`,
    );
  });

  it('S49: when a person signs out on one instance, then the other sees the session ended', async () => {
    const [first, second] = instances;
    const home = await winner.request(`${first.origin}/`);
    const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const out = await winner.request(`${first.origin}/logout`, { form: { _csrf: csrf } });
    assert.equal(out.status, 303);
    const elsewhere = await winner.request(`${second.origin}/`);
    assert.equal(elsewhere.status, 200);
    assert.equal(signedInAs(elsewhere), false, `signed out on ${second.name} too`);
    note(`signed out on ${first.name}: ${second.name} shows the signed-out page for the same cookie`);
  });

  it('S49: when one address spreads its sign-ins over both instances, then the rate limit counts them together', async () => {
    const client = { 'x-forwarded-for': '198.51.100.23' };
    const statuses: number[] = [];
    for (let i = 0; i < SIGN_IN_RATE_LIMIT + 2; i += 1) {
      statuses.push((await new HttpBrowser().request(`${instances[i % 2]!.origin}/connect`, { headers: client })).status);
    }
    assert.deepEqual(statuses, [...Array(SIGN_IN_RATE_LIMIT).fill(302), 429, 429]);
    note(
      `sign-in rate limit ${SIGN_IN_RATE_LIMIT}/min, one address alternating between the instances: ${SIGN_IN_RATE_LIMIT} redirects, then 429 on each instance`,
    );
  });

  it('when one instance is killed (SIGKILL), then the proxy serves from the other and the person stays signed in; restarted, it serves again', async () => {
    const [killed, survivor] = instances;
    await killed.kill('SIGKILL');
    const labels: string[] = [];
    for (let view = 0; view < 4; view += 1) {
      await page.reload();
      await page.getByRole('heading', { name: /Signed in as / }).waitFor();
      labels.push(await labelIn(page));
    }
    assert.deepEqual([...new Set(labels)], [survivor.name]);
    assert.ok(downReports.includes(killed.origin), 'the proxy saw the dead upstream and moved on');
    note(
      `${killed.name} killed with SIGKILL: ${labels.length} reloads through the proxy, all signed in, served by ${[...new Set(labels)].join(', ')}`,
    );

    await killed.start();
    const direct = await chromiumSession();
    assert.ok(signedInAs(await direct.request(`${killed.origin}/`)), 'the restarted instance knows the session');
  });

  it('when PostgreSQL stops, then both answer 503 readiness, a 503 sign-in page and a 503 home page without a token, and stay up; when it starts again, then they recover without a restart', async () => {
    await postgres.stop();
    const direct = await chromiumSession();
    const homeStatuses: number[] = [];
    for (const instance of instances) {
      const ready = await fetch(`${instance.origin}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'unavailable', reason: 'database' });
      const signIn = await new HttpBrowser().request(`${instance.origin}/connect`);
      assert.equal(signIn.status, 503);
      assert.match(signIn.body, /cannot reach its database/);
      const view = await direct.request(`${instance.origin}/`);
      homeStatuses.push(view.status);
      assert.equal(view.status, 503, 'the signed-in page is the 503 page, not a silent sign-out');
      assert.ok(!signedInAs(view), 'no token while the database is down');
      assert.equal((await fetch(`${instance.origin}/healthz`)).status, 200);
    }
    assert.equal((await new HttpBrowser().request(`${baseUrl}/connect`)).status, 503, 'through the proxy too');
    assert.ok(
      instances.every((instance) => instance.alive),
      'no instance crashed',
    );
    note(
      `PostgreSQL stopped: on both instances /readyz 503 {"reason":"database"}, /connect a 503 page, / ${homeStatuses.join(' and ')}, /healthz 200; both processes alive`,
    );

    await postgres.start();
    for (const instance of instances) {
      assert.equal((await fetch(`${instance.origin}/readyz`)).status, 200, `${instance.name} ready again`);
      assert.ok(signedInAs(await direct.request(`${instance.origin}/`)), `${instance.name} serves the session again`);
    }
    await page.reload();
    await page.getByRole('heading', { name: /Signed in as / }).waitFor();
    assert.ok(instances.every((instance) => instance.alive));
    assert.doesNotMatch(instances.map((instance) => instance.output).join('\n'), /unhandled|uncaught/i);
    note('PostgreSQL started again: both /readyz 200 and the person is still signed in, same processes');
  });
});
