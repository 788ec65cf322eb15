import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HTTP_LIMITS, MAX_URL_LENGTH } from '../../src/web/request-limits.ts';
import type { Harness } from '../support/harness.ts';
import { assertNothingWritten, assertRejectPage, assertSignedOut, useHarness } from '../support/outcomes.ts';
import { eventLines } from '../support/test-log.ts';

/** Sends raw bytes (not what fetch would encode) and returns the status line. */
function rawRequest(baseUrl: string, bytes: Buffer): Promise<string> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('K. bad input on the callback', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S44: when code or state is 100 KB, then a fast 414 page, no session lookup and no outbound call', async () => {
    const browser = harness.browser();
    await harness.authorize(browser);
    const before = harness.idp.requestCount();
    const huge = 'A'.repeat(100 * 1024);
    for (const query of [`code=${huge}&state=x`, `state=${huge}&code=x`]) {
      const started = Date.now();
      const page = await browser.request(`${harness.baseUrl}/connect/get_token?${query}`);
      assert.equal(page.status, 414);
      assert.match(page.body, /This address is too long/);
      assert.ok(Date.now() - started < 10_000);
    }
    assert.equal(harness.idp.requestCount(), before, 'no call to the provider');
    await assertNothingWritten(harness);
  });

  it("S44: when a URL is longer than 16 KB but within the header limit, then the app's own guard answers with its 414 page, before the session and any outbound call", async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.requestCount();
    const statements = harness.database.statements.length;
    const padded = (url: string, length: number) => `${url}&pad=${'A'.repeat(length - url.length - 5)}`;
    for (const length of [MAX_URL_LENGTH + 1, HTTP_LIMITS.maxHeaderBytes - 2048]) {
      for (const url of [`${harness.baseUrl}/?x=1`, callbackUrl]) {
        const target = padded(url, harness.baseUrl.length + length);
        assert.equal(target.length - harness.baseUrl.length, length);
        const logged = harness.logs.length;
        const page = await browser.request(target);
        assert.equal(page.status, 414, `${length} characters: ${page.status}`);
        assert.match(page.body, /This address is too long/);
        const line = JSON.parse(eventLines(harness.logs.slice(logged)).at(-1)!) as { kind?: string; message?: string };
        assert.deepEqual([line.kind, line.message], ['url_too_long', 'This address is too long'], 'answered by the app, not the server');
      }
    }
    assert.equal(harness.idp.requestCount(), before, 'no call to the provider');
    const sessionReads = harness.database.statements.slice(statements).filter((sql) => /^\s*SELECT\b[\s\S]*[`"]Session[`"]/i.test(sql));
    assert.deepEqual(sessionReads, [], 'no session lookup, though the browser sends its session cookie');
    const atTheLimit = await browser.request(padded(`${harness.baseUrl}/?x=1`, harness.baseUrl.length + MAX_URL_LENGTH));
    assert.equal(atTheLimit.status, 200, 'a URL of exactly 16 KB is served');
    await assertNothingWritten(harness);
  });

  it('S44: when the query has invalid UTF-8, CRLF or <script>, then 400 with the text encoded on the page and in the log, and no outbound call', async () => {
    const browser = harness.browser();
    const callbackUrl = new URL(await harness.authorize(browser));
    const state = callbackUrl.searchParams.get('state')!;
    const before = harness.idp.requestCount();
    for (const query of [
      'state=%FF%FE%C3%28&code=%80',
      'state=x%0D%0ASet-Cookie:%20evil=1&code=y',
      `state=%3Cscript%3Ealert(1)%3C/script%3E&code=1`,
    ]) {
      const page = await browser.request(`${harness.baseUrl}/connect/get_token?${query}`);
      assertRejectPage(page);
      assert.ok(!page.headers.getSetCookie().join(';').includes('evil'), 'no header injection');
    }
    const raw = await rawRequest(
      harness.baseUrl,
      Buffer.concat([
        Buffer.from('GET /connect/get_token?state='),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
        Buffer.from('&code=x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
      ]),
    );
    assert.match(raw, /^HTTP\/1\.1 400/);

    const logLines = harness.logs.length;
    const hostile = '<script>alert(1)</script>\r\nInjected-Header: 1\r\n{"level":"info","message":"forged"}';
    const page = await browser.request(
      `${harness.baseUrl}/connect/get_token?state=${state}&error=${encodeURIComponent(hostile)}&error_description=${encodeURIComponent(hostile)}`,
    );
    assert.equal(page.status, 400, 'an unknown error with a valid state: 400');
    assert.ok(!page.body.includes('<script>alert'), 'HTML-escaped on the page');
    assert.ok(page.body.includes('&lt;script&gt;'));
    const newLines = eventLines(harness.logs.slice(logLines).join('').split('\n').filter(Boolean));
    assert.equal(newLines.length, 1, 'one log line, however many line breaks the input had');
    assert.doesNotThrow(() => JSON.parse(newLines[0]!));
    assert.equal(harness.idp.requestCount(), before, 'no outbound call for any of them');
    await assertSignedOut(harness, browser);
    await assertNothingWritten(harness);
  });

  it('S44: when code and error come together, or error is unknown, then 400 and the token endpoint is not called', async () => {
    for (const extra of ['&error=access_denied', '&error=totally_unknown_error', '&error=server_error&error_description=AADSTS50000']) {
      const browser = harness.browser();
      const callbackUrl = await harness.authorize(browser);
      const before = harness.idp.tokenRequestCount();
      const page = await browser.request(`${callbackUrl}${extra}`);
      assert.ok(page.status === 400 || page.status === 403, `status ${page.status}`);
      assert.equal(harness.idp.tokenRequestCount(), before);
      assertRejectPage(await browser.request(callbackUrl), 400);
    }
    await assertNothingWritten(harness);
  });

  it('S44: when the callback, /connect or / get an unexpected method, then 405 with Allow', async () => {
    for (const [path, allow] of [
      ['/connect/get_token', 'GET, HEAD'],
      ['/connect', 'GET, HEAD'],
      ['/', 'GET, HEAD'],
      ['/logout', 'POST'],
    ] as const) {
      for (const method of ['PUT', 'DELETE', 'PATCH', ...(path === '/logout' ? ['GET'] : ['POST'])]) {
        const page = await harness.browser().request(`${harness.baseUrl}${path}`, { method });
        assert.equal(page.status, 405, `${method} ${path}`);
        assert.equal(page.headers.get('allow'), allow);
      }
    }
    await assertNothingWritten(harness);
  });

  it('S45: when callback queries are random (fast-check), then never a 5xx and never signed in', async () => {
    const browser = harness.browser();
    const parameter = fc.oneof(
      fc.constantFrom(
        'state',
        'code',
        'error',
        'error_description',
        'session_state',
        'state[]',
        'state[k]',
        'code[]',
        'iss',
        'client_info',
        '__proto__',
        'constructor',
      ),
      fc.string({ maxLength: 12 }),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('access_denied', 'invalid_request', '', '%', '%zz', '%FF', '\r\n', '<script>'),
    );
    const query = fc.array(fc.tuple(parameter, value, fc.boolean()), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(query, fc.boolean(), async (pairs, useRealState) => {
        let search = pairs
          .map(([name, text, raw]) => (raw ? `${name}=${text}` : `${encodeURIComponent(name)}=${encodeURIComponent(text)}`))
          .join('&');
        if (useRealState) {
          const connect = await browser.request(`${harness.baseUrl}/connect`);
          search = `state=${new URL(connect.location!).searchParams.get('state')}&${search}`;
        }
        let url: string;
        try {
          url = new URL(`${harness.baseUrl}/connect/get_token?${search}`).href;
        } catch {
          return;
        }
        const page = await browser.request(url);
        assert.ok(page.status >= 400 && page.status < 500, `a 4xx (never 5xx, never a sign-in), got ${page.status} for ?${search}`);
        const rows = await harness.database.prisma.user.count();
        assert.equal(rows, 0);
      }),
      { numRuns: 300, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
    await assertSignedOut(harness, browser);
    await assertNothingWritten(harness);
  });
});
