import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';
import { signIn } from '../support/outcomes.ts';
import { isRequestLine } from '../support/test-log.ts';

interface LogEntry {
  level: string;
  time?: string;
  message: string;
  requestId?: string;
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function entries(lines: readonly string[]): LogEntry[] {
  return lines.map((line) => JSON.parse(line) as LogEntry);
}

/** The access lines of one request id; the line is written once the response has finished, so wait a moment for it. */
async function requestLines(harness: Harness, requestId: string | null): Promise<LogEntry[]> {
  const find = () => entries(harness.logs.filter(isRequestLine)).filter((entry) => entry.requestId === requestId);
  for (let look = 0; look < 100 && find().length === 0; look += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  return find();
}

/** The "Request ID" row under Technical details on an error page. */
function pageRequestId(body: string): string | undefined {
  return body.match(/<dt>Request ID<\/dt><dd><code>([^<]+)<\/code><\/dd>/)?.[1];
}

describe('request logs', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('when a page is served, then one line with method, route, status, duration and the request id sent back in X-Request-Id', async () => {
    const page = await harness.browser().request(`${harness.baseUrl}/?utm_source=mail`);
    assert.equal(page.status, 200);
    const requestId = page.headers.get('x-request-id');
    assert.match(requestId ?? '', UUID);
    const lines = await requestLines(harness, requestId);
    assert.equal(lines.length, 1, 'logged once');
    const [line] = lines;
    assert.deepEqual(
      { ...line, time: undefined, durationMs: undefined },
      {
        level: 'info',
        time: undefined,
        message: 'request completed',
        requestId,
        method: 'GET',
        route: '/',
        status: 200,
        durationMs: undefined,
      },
    );
    assert.ok(typeof line!.durationMs === 'number' && line!.durationMs >= 0, `durationMs ${line!.durationMs}`);
    assert.ok(!harness.logs.some((text) => text.includes('utm_source')), 'no query string in any line');
  });

  it('when two requests are served, then each has its own id', async () => {
    const browser = harness.browser();
    const first = (await browser.request(`${harness.baseUrl}/`)).headers.get('x-request-id');
    const second = (await browser.request(`${harness.baseUrl}/`)).headers.get('x-request-id');
    assert.notEqual(first, second);
  });

  it('when a sign-in completes, then the callback is logged by its path alone and the "signed in" line carries the same request id', async () => {
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    const requestId = callback.headers.get('x-request-id');
    const [line] = await requestLines(harness, requestId);
    assert.deepEqual([line?.method, line?.route, line?.status], ['GET', '/connect/get_token', 303]);
    const signedIn = entries(harness.logs).filter((entry) => entry.message === 'signed in');
    assert.equal(signedIn.at(-1)?.requestId, requestId);
    const seen = [...harness.idp.issuedSecrets, ...browser.seenCookieValues()].filter((value) => value.length >= 8);
    assert.ok(seen.length > 0);
    for (const text of harness.logs) {
      assert.doesNotMatch(text, /get_token\?|[?&](code|state|session_state)=/, 'no query string of the callback');
      assert.ok(!seen.some((secret) => text.includes(secret)), 'no code, state or token value');
    }
  });

  it('when "Refresh now" refreshes the token, then the "token refreshed" line carries the request id of that POST', async () => {
    const { browser } = await signIn(harness);
    const csrf = (await browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const refreshed = await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } });
    assert.equal(refreshed.status, 303);
    const requestId = refreshed.headers.get('x-request-id');
    const line = entries(harness.logs)
      .filter((entry) => entry.message === 'token refreshed')
      .at(-1);
    assert.equal(line?.requestId, requestId);
    const [access] = await requestLines(harness, requestId);
    assert.deepEqual([access?.method, access?.route, access?.status], ['POST', '/refresh', 303]);
  });

  it('when the callback fails, then the error page shows the request id of its X-Request-Id header, its log line and its access line', async () => {
    const browser = harness.browser();
    const callbackUrl = new URL(await harness.authorize(browser));
    callbackUrl.searchParams.set('state', 'forged-state-value');
    const page = await browser.request(callbackUrl.href);
    assert.equal(page.status, 400);
    const requestId = page.headers.get('x-request-id');
    assert.match(requestId ?? '', UUID);
    assert.equal(pageRequestId(page.body), requestId, 'under Technical details');
    const [line] = await requestLines(harness, requestId);
    assert.deepEqual([line?.route, line?.status], ['/connect/get_token', 400]);
    const failure = entries(harness.logs).find((entry) => entry.requestId === requestId && entry.level === 'warn');
    assert.equal(failure?.message, 'This sign-in link is invalid or has expired');
    assert.ok(!harness.logs.some((text) => text.includes('forged-state-value')), 'the state is not logged');
  });

  it('when an address does not exist, then the 404 page shows the request id too', async () => {
    const page = await harness.browser().request(`${harness.baseUrl}/no-such-page`);
    assert.equal(page.status, 404);
    assert.equal(pageRequestId(page.body), page.headers.get('x-request-id'));
    const [line] = await requestLines(harness, page.headers.get('x-request-id'));
    assert.deepEqual([line?.route, line?.status], ['/no-such-page', 404]);
  });

  it('when the HTTP server refuses the headers before the app (431), then its page, its header and its log line share one request id', async () => {
    const page = await harness
      .browser()
      .request(`${harness.baseUrl}/`, { headers: { cookie: `big=${'b'.repeat(HTTP_LIMITS.maxHeaderBytes)}` } });
    assert.equal(page.status, 431);
    const requestId = page.headers.get('x-request-id');
    assert.match(requestId ?? '', UUID);
    assert.equal(pageRequestId(page.body), requestId);
    const refused = entries(harness.logs).find((entry) => entry.requestId === requestId);
    assert.deepEqual([refused?.level, refused?.message, refused?.status], ['warn', 'request refused before the app', 431]);
  });

  it('when /healthz and a ready /readyz are probed, then they get an id but no line; a page after them gets its line', async () => {
    const health = await fetch(`${harness.baseUrl}/healthz`);
    const ready = await fetch(`${harness.baseUrl}/readyz`);
    assert.deepEqual([health.status, ready.status], [200, 200]);
    const page = await harness.browser().request(`${harness.baseUrl}/`);
    assert.equal((await requestLines(harness, page.headers.get('x-request-id'))).length, 1);
    for (const probe of [health, ready]) {
      const requestId = probe.headers.get('x-request-id');
      assert.match(requestId ?? '', UUID);
      assert.ok(!harness.logs.some((text) => text.includes(requestId!)), 'no line for the probe');
    }
  });

  it('when a client sends its own X-Request-Id and no proxy is trusted, then it is ignored', async () => {
    const page = await harness.browser().request(`${harness.baseUrl}/`, { headers: { 'x-request-id': 'client-chosen-id' } });
    assert.match(page.headers.get('x-request-id') ?? '', UUID);
    assert.ok(!harness.logs.some((text) => text.includes('client-chosen-id')));
  });
});

describe('request logs behind a trusted proxy', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { TRUST_PROXY: '1' } });
  });
  after(async () => {
    await harness.close();
  });

  it('when the proxy sends a plain X-Request-Id of at most 64 characters, then the app uses it; anything else gets a fresh id', async () => {
    const browser = harness.browser();
    const proxied = await browser.request(`${harness.baseUrl}/`, { headers: { 'x-request-id': 'lb-4f2a.9_Z-1' } });
    assert.equal(proxied.headers.get('x-request-id'), 'lb-4f2a.9_Z-1');
    assert.equal((await requestLines(harness, 'lb-4f2a.9_Z-1')).length, 1);
    for (const unusable of ['a'.repeat(65), 'has space', 'semi;colon', '"quoted"', '']) {
      const page = await browser.request(`${harness.baseUrl}/`, { headers: { 'x-request-id': unusable } });
      assert.match(page.headers.get('x-request-id') ?? '', UUID, JSON.stringify(unusable));
    }
  });
});
