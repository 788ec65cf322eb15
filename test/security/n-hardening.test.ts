import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { createApp } from '../../src/app.ts';
import { createHttpServer } from '../../src/web/http-server.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';
import { runTokenCommand } from '../../src/cli/token-command.ts';
import { EXIT } from '../../src/cli/token-command.ts';
import { readForm, startHarness, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import type { IdpFault } from '../../dev/idp/index.ts';
import type { Page } from '../support/http-browser.ts';
import type { Harness } from '../support/harness.ts';
import { assertFailSafePage, assertNothingHappened, signIn, useHarness } from '../support/outcomes.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';
import { eventLines } from '../support/test-log.ts';
import { assertNoLeak } from '../support/page-leaks.ts';

/** Sends one raw request (any request target) and returns the whole answer. */
function rawRequest(baseUrl: string, head: string): Promise<string> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function csrfOf(body: string): string {
  const token = body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  assert.ok(token !== undefined, 'the page has a CSRF token');
  return token;
}

interface LogEntry {
  level: string;
  message: string;
  status?: number;
  path?: string;
  requestId?: string;
}

function entries(lines: string[]): LogEntry[] {
  return lines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogEntry);
}

function levels(lines: string[]): string[] {
  return lines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { level: string }).level);
}

describe('N. hardening from the outside probe', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S50: when the request target is * (OPTIONS * or GET *), then 400, no error logged, and the server keeps answering', async () => {
    for (const head of ['OPTIONS * HTTP/1.1', 'GET * HTTP/1.1']) {
      const logged = harness.logs.length;
      const answer = await rawRequest(harness.baseUrl, head);
      assert.match(answer, /^HTTP\/1\.1 400 /, `${head}: ${answer.slice(0, 200)}`);
      assert.match(answer, /The request could not be read/);
      assert.ok(!levels(harness.logs.slice(logged)).includes('error'), harness.logs.slice(logged).join(''));
    }
    assert.equal((await harness.browser().request(`${harness.baseUrl}/`)).status, 200);
  });

  it('S50: when the session cannot be saved after "Refresh now" or "Check with Microsoft Graph", then the browser gets the 503 page instead of a redirect that loses the result', async () => {
    const { browser } = await signIn(harness);
    const home = await browser.request(`${harness.baseUrl}/`);
    const csrf = csrfOf(home.body);
    const restore = await harness.database.failSessionWrites();
    try {
      for (const path of ['/refresh', '/graph-check']) {
        const logged = harness.logs.length;
        const page = await browser.request(`${harness.baseUrl}${path}`, { form: { _csrf: csrf } });
        assert.equal(page.status, 503, `${path}: ${page.status} ${page.body.slice(0, 200)}`);
        assert.match(page.body, /could not save/);
        const lines = harness.logs
          .slice(logged)
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { status?: number });
        assert.ok(
          lines.every((line) => line.status === undefined || line.status === 503),
          `the log says what the browser got: ${JSON.stringify(lines)}`,
        );
      }
      // The home page changes nothing worth a 503; once a minute it moves the idle expiry, and express-session's write of
      // that after the response fails and is logged with the 200 it sent.
      harness.clock.advance(61 * 1000);
      const logged = harness.logs.length;
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
      const afterResponse = () =>
        entries(harness.logs.slice(logged)).some(
          (entry) => entry.level === 'error' && entry.message.endsWith('(after the response was sent)') && entry.status === 200,
        );
      for (let look = 0; look < 100 && !afterResponse(); look += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(afterResponse(), harness.logs.slice(logged).join(''));
    } finally {
      await restore();
    }
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200, 'the server keeps answering');
  });

  it("S50: when the session cannot be saved on the callback, then one 503 page, nothing reaches Express's own error handler, and the server keeps answering", async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const restore = await harness.database.failSessionWrites();
    const printed: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      printed.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    let page: Page;
    try {
      page = await browser.request(callbackUrl);
      assert.equal(page.status, 503);
      assert.match(page.body, /Try again/);
      await assertNothingHappened(harness, browser);
    } finally {
      process.stderr.write = write;
      await restore();
    }
    assert.deepEqual(printed, [], 'nothing printed outside the logger (Express prints a raw stack)');
    assert.ok(
      entries(harness.logs).some(
        (entry) =>
          entry.level === 'error' &&
          entry.message === 'request failed after its response was sent' &&
          entry.path === '/connect/get_token' &&
          entry.status === 503,
      ),
      harness.logs.join(''),
    );
  });

  it('S50: when any error page is served (400, 403, 404, 405, 413, 414, 431, 500, 502, 503), then its body holds no stack frame, file path or node_modules', async () => {
    const pages: [string, number, string][] = [];
    const record = (what: string, page: { status: number; body: string }) => {
      pages.push([what, page.status, page.body]);
    };
    const anonymous = harness.browser();
    record('unknown path', await anonymous.request(`${harness.baseUrl}/no-such-page`));
    record('method', await anonymous.request(`${harness.baseUrl}/`, { method: 'PUT' }));
    record('forged form', await anonymous.request(`${harness.baseUrl}/logout`, { form: { _csrf: 'forged' } }));
    record('forged callback', await anonymous.request(`${harness.baseUrl}/connect/get_token?state=x&code=y`));
    record('long URL (app)', await anonymous.request(`${harness.baseUrl}/?${'a'.repeat(20 * 1024)}`));
    record('long URL (server)', await anonymous.request(`${harness.baseUrl}/?${'a'.repeat(HTTP_LIMITS.maxHeaderBytes + 1024)}`));
    record(
      'large headers',
      await anonymous.request(`${harness.baseUrl}/`, { headers: { cookie: `big=${'b'.repeat(HTTP_LIMITS.maxHeaderBytes)}` } }),
    );
    const target = await rawRequest(harness.baseUrl, 'OPTIONS * HTTP/1.1');
    record('target *', { status: Number(target.slice(9, 12)), body: target });

    const { browser } = await signIn(harness);
    const csrf = csrfOf((await browser.request(`${harness.baseUrl}/`)).body);
    record('form too large', await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf, pad: 'a'.repeat(5000) } }));
    harness.idp.setFault('id-token-bad-signature');
    record('ID token', (await signIn(harness)).callback);
    harness.idp.setFault('response-expires-in-number-0');
    record('token response', (await signIn(harness)).callback);
    harness.idp.setFault(null);
    const failing = harness.browser();
    const callbackUrl = await harness.authorize(failing);
    const restore = await harness.database.failSessionWrites();
    try {
      record('database', await failing.request(callbackUrl));
    } finally {
      await restore();
    }

    // A bug: discovery fails with an error the app does not know, whose message and stack name files.
    const bug = new TypeError(`cannot read properties of undefined at ${process.cwd()}/node_modules/x/index.js:1:2`);
    const buggy = createApp(harness.config, {
      database: harness.database.handle,
      logger: silentLogger,
      discovery: { getMetadata: () => Promise.reject(bug) },
    });
    const server = createHttpServer(silentLogger, () => buggy.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      record('unexpected error', await harness.browser().request(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/connect`));
    } finally {
      buggy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    assert.deepEqual(
      pages.map(([what, status]) => [what, status]),
      [
        ['unknown path', 404],
        ['method', 405],
        ['forged form', 403],
        ['forged callback', 400],
        ['long URL (app)', 414],
        ['long URL (server)', 414],
        ['large headers', 431],
        ['target *', 400],
        ['form too large', 413],
        ['ID token', 400],
        ['token response', 502],
        ['database', 503],
        ['unexpected error', 500],
      ],
    );
    assert.throws(() => assertNoLeak('a real stack', String(new Error('sample').stack)), 'the check can see a stack');
    for (const [what, , body] of pages) {
      assert.match(body, /<h1 id="error-heading">/, `${what}: the app's error page`);
      assertNoLeak(what, body);
    }
  });

  it("S50: when a failure reaches the HTTP server's final handler directly, then it sends only generic text, never the error", async () => {
    const lines: string[] = [];
    const app = express();
    app.get('/fails', () => {
      throw new Error(`a bug at ${process.cwd()}/src/web/some-route.ts:12:34`);
    });
    const server = createHttpServer(
      createLogger((line) => lines.push(line)),
      () => app,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const failed = await fetch(`${base}/fails`);
      assert.equal(failed.status, 500);
      assert.equal(failed.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await failed.text(), 'Something went wrong. Try again.\n');
      const missing = await fetch(`${base}/nothing-here`);
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), 'Not found.\n');
      assert.match(lines.join(''), /"level":"error"/, 'the error itself goes to the log');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("S53: when the request line or the headers pass the header limit, then the app's 414 or 431 page, and the server keeps answering", async () => {
    const browser = harness.browser();
    const longUrl = await browser.request(`${harness.baseUrl}/?${'a'.repeat(HTTP_LIMITS.maxHeaderBytes + 1024)}`);
    assert.equal(longUrl.status, 414);
    assert.match(longUrl.body, /This address is too long/);
    assert.match(longUrl.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const cookies = await browser.request(`${harness.baseUrl}/`, { headers: { cookie: `big=${'b'.repeat(HTTP_LIMITS.maxHeaderBytes)}` } });
    assert.equal(cookies.status, 431);
    assert.match(cookies.body, /The request is too large/);
    const refused = entries(eventLines(harness.logs)).at(-1);
    assert.deepEqual([refused?.level, refused?.message, refused?.status], ['warn', 'request refused before the app', 431]);
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
  });

  it('S53: when a form body is over 4 KB or has more than 10 fields, then the 413 page and nothing is done; 4 KB and 10 fields are read', async () => {
    const { browser } = await signIn(harness);
    const csrf = csrfOf((await browser.request(`${harness.baseUrl}/`)).body);
    // The body as URLSearchParams encodes it: _csrf, then padding to `bytes`, or extra fields to make `fields` in all.
    const ofSize = (bytes: number) => {
      const start = `_csrf=${csrf}&pad=`;
      return { _csrf: csrf, pad: 'a'.repeat(bytes - start.length) };
    };
    const withFields = (fields: number) => ({
      _csrf: csrf,
      ...Object.fromEntries(Array.from({ length: fields - 1 }, (_, index) => [`f${index}`, '1'])),
    });
    assert.equal(new URLSearchParams(ofSize(4096)).toString().length, 4096, 'the padding makes the body exactly that size');
    const calls = harness.idp.tokenRequestCount();
    for (const [what, form] of [
      ['4 KB + 1 byte', ofSize(4 * 1024 + 1)],
      ['11 fields', withFields(11)],
    ] as const) {
      const page = await browser.request(`${harness.baseUrl}/refresh`, { form });
      assert.equal(page.status, 413, `${what}: ${page.status} ${page.body.slice(0, 200)}`);
      assert.match(page.body, /The request could not be read/);
    }
    assert.equal(harness.idp.tokenRequestCount(), calls, 'no refresh was made');
    for (const [what, form] of [
      ['4 KB', ofSize(4 * 1024)],
      ['10 fields', withFields(10)],
    ] as const) {
      assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form })).status, 303, `${what} is read`);
    }
    assert.equal(harness.idp.tokenRequestCount(), calls + 2);
  });

  it('S53: when more clients connect than the connection limit, then the extra connections are closed at once, a warning is logged, and a freed slot serves again', async () => {
    const lines: string[] = [];
    const app = express();
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const server = createHttpServer(
      createLogger((line) => lines.push(line)),
      () => app,
      { ...HTTP_LIMITS, maxConnections: 3 },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const connect = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
      });
    try {
      const held = await Promise.all([connect(), connect(), connect()]);
      const extra = await connect();
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        extra.on('data', (chunk) => {
          text += chunk.toString();
        });
        extra.on('error', () => undefined);
        extra.on('close', () => resolve(text));
        extra.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      });
      assert.equal(answer, '', 'the fourth connection is closed unanswered');
      assert.match(lines.join(''), /connections refused: the server is at its connection limit/);
      held[0]!.destroy();
      for (
        let look = 0;
        look < 100 && (await new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count)))) >= 3;
        look += 1
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const freed = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      assert.equal(await freed.text(), 'ok');
      for (const socket of held) socket.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('S54: when a new signing key is published and used right after the app fetched the keys (emergency rollover), then the next sign-in succeeds', async () => {
    const fresh = await startHarness();
    try {
      const fetched = fresh.idp.jwksRequestCount();
      assert.equal((await signIn(fresh)).callback.status, 303, 'keys fetched now');
      assert.equal(fresh.idp.jwksRequestCount(), fetched + 1);
      fresh.idp.setFault('keys-rolled');
      const rolled = await signIn(fresh);
      assert.equal(rolled.callback.status, 303, `the new key is accepted on its first use: ${rolled.callback.body.slice(0, 300)}`);
      assert.equal(fresh.idp.jwksRequestCount(), fetched + 2);
    } finally {
      await fresh.close();
    }
  });

  it('S54: when unknown kids keep arriving, then at most one key fetch per cooldown', async () => {
    const fresh = await startHarness();
    try {
      assert.equal((await signIn(fresh)).callback.status, 303);
      const fetched = fresh.idp.jwksRequestCount();
      fresh.idp.setFault('id-token-unknown-key');
      for (let i = 0; i < 5; i += 1) assert.equal((await signIn(fresh)).callback.status, 400);
      assert.equal(fresh.idp.jwksRequestCount(), fetched + 1, 'one refetch for the first unknown kid, none for the rest');
      fresh.clock.advance(61 * 1000);
      for (let i = 0; i < 3; i += 1) assert.equal((await signIn(fresh)).callback.status, 400);
      assert.equal(fresh.idp.jwksRequestCount(), fetched + 2, 'one more after the cooldown');
    } finally {
      await fresh.close();
    }
  });

  it('S55: when the token response of a sign-in has an absurd expires_in, then 502 "the answer cannot be used", nothing stored', async () => {
    harness.idp.setFault('response-expires-in-absurd');
    const browser = harness.browser();
    const page = await browser.request(await harness.authorize(browser));
    assertFailSafePage(page);
    assert.equal(page.status, 502);
    assert.match(page.body, /answer the app cannot use/);
    harness.idp.setFault(null);
    await assertNothingHappened(harness, browser);
  });

  for (const fault of [
    'response-expires-in-number-0',
    'response-expires-in-number-minus-1',
    'response-expires-in-number-86401',
    'response-expires-in-number-1e20',
  ] satisfies IdpFault[]) {
    const number = fault.replace('response-expires-in-number-', '').replace('minus-', '-');
    it(`S55: when the token response of a sign-in has expires_in as the JSON number ${number} (outside 1 s to a day), then the 502 page, nothing stored`, async () => {
      harness.idp.setFault(fault);
      const browser = harness.browser();
      const page = await browser.request(await harness.authorize(browser));
      assert.equal(page.status, 502, page.body.slice(0, 300));
      assert.match(page.body, /answer the app cannot use/);
      harness.idp.setFault(null);
      await assertNothingHappened(harness, browser);
    });
  }

  it('S55: when a refresh response has an absurd expires_in, then it is stored whole (the rotated refresh token kept, a lifetime of at most a day) and a warning is logged', async () => {
    const { browser } = await signIn(harness);
    const userId = (await harness.database.prisma.user.findFirstOrThrow()).id;
    const before = await readStoredTokens(harness);
    harness.idp.setFault('response-expires-in-absurd');
    const logged = harness.logs.length;
    const result = await harness.app.tokenService.getFreshTokens(userId, { force: true });
    harness.idp.setFault(null);
    const stored = await readStoredTokens(harness);
    assert.equal(result.refreshed, true);
    assert.notEqual(stored.refreshToken, before.refreshToken, 'the rotated refresh token is stored');
    assert.equal(stored.accessToken, result.tokens.accessToken);
    const lifetime = stored.row.expiresAt.getTime() - harness.clock.now();
    assert.ok(lifetime > 0 && lifetime <= 24 * 3600 * 1000, `lifetime ${lifetime} ms`);
    assert.match(harness.logs.slice(logged).join(''), /"level":"warn".*expires_in/);
    const count = harness.idp.tokenRequestCount();
    assert.equal(
      (await harness.app.tokenService.getFreshTokens(userId, { force: true })).refreshed,
      true,
      'the stored refresh token is the live one',
    );
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
  });

  it('S37: when a refresh was refused but the access token is still valid, then Graph check and npm run token keep using it and say a sign-in is needed after it expires', async () => {
    const { browser } = await signIn(harness);
    const home = await browser.request(`${harness.baseUrl}/`);
    const csrf = csrfOf(home.body);
    harness.idp.setFault('token-invalid-grant');
    await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } });
    harness.idp.setFault(null);
    assert.equal((await harness.database.prisma.tokenSet.findFirstOrThrow()).needsSignIn, true, 'the refresh was refused');
    const { accessToken } = await readStoredTokens(harness);

    const checked = await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } });
    assert.equal(checked.status, 303);
    const after = await browser.request(`${harness.baseUrl}/`);
    assert.match(after.body, /Microsoft Graph accepted the token/);
    assert.match(after.body, /this access token works only until <time[^>]*>[^<]+<\/time>: sign in again after that/);

    const env = {
      O365_APP_ID: TEST_APP_ID,
      O365_APP_KEY: TEST_APP_KEY,
      O365_AUTHORITY_HOST: harness.config.authorityHost,
      GRAPH_BASE_URL: harness.config.graphBaseUrl,
      BASE_URL: harness.baseUrl,
      DATABASE_URL: harness.database.url,
      TOKEN_ENCRYPTION_KEY: harness.config.tokenEncryptionKey.toString('base64'),
    };
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (text: string) => {
        stdout += text;
      },
      stderr: (text: string) => {
        stderr += text;
      },
    };
    assert.equal(await runTokenCommand([], env, io), EXIT.ok, stderr);
    assert.equal(stdout.trim(), accessToken);
    assert.match(stderr, new RegExp(`sign in again at ${harness.baseUrl}/`, 'i'));

    await harness.database.prisma.tokenSet.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
    stdout = '';
    assert.equal(await runTokenCommand([], env, io), EXIT.signInAgain);
    assert.equal(stdout, '');
    await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } });
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /The token could not be refreshed/);
  });

  it('when the app and the local provider share 127.0.0.1 (the demo), then their cookie names cannot collide', async () => {
    const browser = harness.browser();
    const names = { app: new Set<string>(), provider: new Set<string>() };
    const record = (page: Page): Page => {
      const side = page.url.startsWith(`${harness.baseUrl}/`) ? names.app : names.provider;
      for (const line of page.headers.getSetCookie()) side.add(line.slice(0, line.indexOf('=')).trim());
      return page;
    };
    const followRecording = async (first: Page): Promise<Page> => {
      let page = first;
      for (let hops = 0; hops < 20 && page.location !== undefined && [302, 303].includes(page.status); hops += 1)
        page = record(await browser.request(page.location));
      return page;
    };
    const loginPage = await followRecording(record(await browser.request(`${harness.baseUrl}/connect`)));
    const form = readForm(loginPage);
    const account = harness.idp.accounts[0]!;
    const home = await followRecording(
      record(
        await browser.request(form.action, {
          form: { ...form.hidden, [form.usernameField]: account.username, [form.passwordField]: account.password },
        }),
      ),
    );
    assert.match(home.body, /Signed in as/);
    record(await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrfOf(home.body) } }));
    assert.ok(names.app.size >= 2 && names.provider.size >= 1, `both set cookies: ${[...names.app]} / ${[...names.provider]}`);
    assert.deepEqual(
      [...names.app].filter((name) => names.provider.has(name)),
      [],
      `app ${[...names.app]}, provider ${[...names.provider]}`,
    );
    assert.ok(
      [...names.app].every((name) => name.startsWith('o365signin.')),
      `the app's names carry its prefix: ${[...names.app]}`,
    );
  });
});
