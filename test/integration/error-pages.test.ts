import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeError } from '../../src/error-catalogue.ts';
import type { AppErrorCode } from '../../src/error-catalogue.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import type { Page } from '../support/http-browser.ts';
import { eventLines, isRequestLine } from '../support/test-log.ts';
import { assertNoLeak } from '../support/page-leaks.ts';

/** As EJS escapes text in <%= %>. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** The page shows the catalogue's status, title, message and fix for the code. */
function assertCataloguePage(page: Page, code: AppErrorCode): void {
  const { status, title, message, fix } = describeError(code);
  assert.equal(page.status, status, `${code}: ${page.body.slice(0, 200)}`);
  assert.ok(page.body.includes(`<h1 id="error-heading">${escapeHtml(title)}</h1>`), `${code}: title`);
  assert.ok(page.body.includes(escapeHtml(message)), `${code}: message`);
  assert.ok(page.body.includes(escapeHtml(fix)), `${code}: fix`);
}

/** The log lines `harness` wrote while `request` ran. */
/** The page, the event lines it logged (the request's access line left out) and that access line. */
async function logged(harness: Harness, request: () => Promise<Page>): Promise<{ page: Page; lines: string; requestLines: string[] }> {
  const from = harness.logs.length;
  const page = await request();
  const all = harness.logs.slice(from);
  return { page, lines: eventLines(all).join(''), requestLines: all.filter(isRequestLine) };
}

describe('error pages: one catalogue, a code per failure', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('when a request is refused for its method, its length, its form or its callback, then each page and log line has its own code', async () => {
    const browser = harness.browser();
    const cases: [AppErrorCode, () => Promise<Page>][] = [
      ['method_not_allowed', () => browser.request(`${harness.baseUrl}/refresh`)],
      ['url_too_long', () => browser.request(`${harness.baseUrl}/?q=${'a'.repeat(17 * 1024)}`)],
      ['form_expired', () => browser.request(`${harness.baseUrl}/logout`, { method: 'POST', form: { _csrf: 'not-the-token' } })],
      ['invalid_callback', () => browser.request(`${harness.baseUrl}/connect/get_token?code=abc`)],
    ];
    for (const [code, request] of cases) {
      const { page, lines } = await logged(harness, request);
      assertCataloguePage(page, code);
      assert.ok(lines.includes(code), `${code} is logged: ${lines}`);
    }
  });

  it("when a path does not exist, then the catalogue's 404 page, its request line and no event line", async () => {
    const { page, lines, requestLines } = await logged(harness, () => harness.browser().request(`${harness.baseUrl}/nowhere`));
    assertCataloguePage(page, 'not_found');
    assert.equal(lines, '');
    assert.equal(requestLines.length, 1);
    assert.equal((JSON.parse(requestLines[0]!) as { status: number }).status, 404);
  });

  it("when Microsoft sends the browser back with an error, then the catalogue's page with Microsoft's details", async () => {
    const browser = harness.browser();
    const start = await browser.request(`${harness.baseUrl}/connect`);
    const state = new URL(start.location!).searchParams.get('state')!;
    const query = new URLSearchParams({
      error: 'invalid_scope',
      error_description: 'AADSTS70011: The provided value is not valid.',
      state,
    });
    const { page, lines } = await logged(harness, () => browser.request(`${harness.baseUrl}/connect/get_token?${query}`));
    assertCataloguePage(page, 'authorization_failed');
    assert.ok(page.body.includes('<code>AADSTS70011</code>'));
    assert.ok(lines.includes('authorization_failed'), lines);
  });

  it('when the discovery document fetched again no longer fits the settings, then a 502 page that names the problem, not a 500', async () => {
    harness.idp.setFault('discovery-foreign-endpoints');
    try {
      // Past the day the document is cached for: the next sign-in fetches it again.
      harness.clock.advance(25 * 60 * 60 * 1000);
      const { page, lines } = await logged(harness, () => harness.browser().request(`${harness.baseUrl}/connect`));
      assert.equal(page.status, 502);
      assert.match(page.body, /<h1 id="error-heading">Microsoft sign-in is unavailable<\/h1>/);
      assert.match(
        page.body,
        /The discovery document&#39;s &#39;token_endpoint&#39; \(https:\/\/evil\.example\/common\/oauth2\/v2\.0\/token\) is not on/,
      );
      assert.ok(page.body.includes(escapeHtml(describeError('discovery_mismatch').fix)));
      assert.ok(lines.includes('discovery_mismatch'), lines);
    } finally {
      harness.idp.setFault(null);
    }
  });
});

describe('error pages: the sign-in rate limit', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { SIGN_IN_RATE_LIMIT: '2' } });
  });
  after(async () => {
    await harness.close();
  });

  it("when one address starts more sign-ins than the limit, then the catalogue's 429 page, logged as too_many_sign_ins", async () => {
    const browser = harness.browser();
    for (let i = 0; i < 2; i += 1) assert.equal((await browser.request(`${harness.baseUrl}/connect`)).status, 302);
    const { page, lines } = await logged(harness, () => browser.request(`${harness.baseUrl}/connect`));
    assertCataloguePage(page, 'too_many_sign_ins');
    assert.ok(lines.includes('too_many_sign_ins'), lines);
  });
});

/** Headers that belong to one response, not to the app's security settings. */
const PER_RESPONSE = new Set(['date', 'content-length', 'connection', 'keep-alive', 'x-request-id']);

/** A response's headers without those of its own response: what every page of the app should send alike. */
function pageHeaders(page: Page): Record<string, string> {
  return Object.fromEntries([...page.headers].filter(([name]) => !PER_RESPONSE.has(name)));
}

describe('error pages: one presenter for Express and for the HTTP server', () => {
  let harness: Harness;
  before(async () => {
    // Over https the headers include HSTS, so the pages answered before Express must send it too.
    harness = await startHarness({ env: { BASE_URL: 'https://signin.example.com', TRUST_PROXY: 'loopback' } });
  });
  after(async () => {
    await harness.close();
  });

  it("S31: when the HTTP server refuses a request before Express and Express answers an error, then both pages carry the app's security headers, the same CSP, and no stack", async () => {
    const browser = harness.browser();
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.equal(home.status, 200);
    const pages: [string, number, Page][] = [
      ['404 from Express', 404, await browser.request(`${harness.baseUrl}/nowhere`)],
      ['414 from Express', 414, await browser.request(`${harness.baseUrl}/?q=${'a'.repeat(17 * 1024)}`)],
      ['414 from the HTTP server', 414, await browser.request(`${harness.baseUrl}/?q=${'a'.repeat(HTTP_LIMITS.maxHeaderBytes + 1024)}`)],
      [
        '431 from the HTTP server',
        431,
        await browser.request(`${harness.baseUrl}/`, { headers: { cookie: `big=${'b'.repeat(HTTP_LIMITS.maxHeaderBytes)}` } }),
      ],
    ];
    assert.equal(pages[2]![2].headers.get('connection'), 'close', 'the server answered the 414 itself and closes the connection');
    assert.notEqual(pages[1]![2].headers.get('connection'), 'close', 'Express answered the shorter 414 (it keeps the connection open)');

    const csp = home.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.ok(csp.includes(`form-action 'self' ${harness.config.authorityHost}`), csp);
    assert.match(home.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    const expected = pageHeaders(home);
    for (const [what, status, page] of pages) {
      assert.equal(page.status, status, what);
      assert.deepEqual(pageHeaders(page), expected, `${what}: the home page's headers, no more, no fewer`);
      assert.match(page.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, `${what}: a request id`);
      assert.match(page.headers.get('date') ?? '', /GMT$/, `${what}: a Date`);
      assert.match(page.body, /<h1 id="error-heading">/, `${what}: the app's error page`);
      assert.ok(page.body.includes(page.headers.get('x-request-id') ?? 'no id'), `${what}: the request id on the page`);
      assertNoLeak(what, page.body);
    }
  });
});
