import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';

/** Starts a sign-in and returns Microsoft's error redirect for it, as the browser would bring it back. */
async function errorCallback(harness: Harness, error: string, description: string) {
  const browser = harness.browser();
  const start = await browser.request(`${harness.baseUrl}/connect`);
  const state = new URL(start.location!).searchParams.get('state')!;
  const ids =
    'Trace ID: 0b1c2d3e-0000-4000-8000-000000000001\r\nCorrelation ID: 7a2e4f60-0000-4000-8000-000000000002\r\nTimestamp: 2026-11-28 10:00:00Z';
  const query = new URLSearchParams({ error, error_description: `${description}\r\n${ids}`, state });
  return browser.request(`${harness.baseUrl}/connect/get_token?${query}`);
}

const CASES: { code: string; error: string; title: RegExp; fix: (harness: Harness) => string | RegExp }[] = [
  {
    code: '50011',
    error: 'invalid_request',
    title: /The app&#39;s address is not registered with Microsoft/,
    fix: (harness) => `The app sent the redirect URI ${harness.config.redirectUri}. Register exactly this URI`,
  },
  {
    code: '7000215',
    error: 'invalid_client',
    title: /client secret is wrong or expired/,
    fix: () => /Certificates &amp; secrets.*use a certificate instead \(npm run setup -- --certificate/,
  },
  { code: '7000222', error: 'invalid_client', title: /client secret is wrong or expired/, fix: () => /create a new client secret/ },
  {
    code: '700024',
    error: 'invalid_client',
    title: /The app&#39;s client assertion is outside its valid time/,
    fix: () => /synchronise the clock \(NTP\)/,
  },
  {
    code: '700213',
    error: 'invalid_client',
    title: /Microsoft found no federated credential on the app that matches the platform&#39;s token/,
    fix: () => /Federated credentials.*api:\/\/AzureADTokenExchange/,
  },
  {
    code: '700016',
    error: 'unauthorized_client',
    title: /Microsoft does not know this app in this directory/,
    fix: (harness) => `O365_APP_ID (${harness.config.appId})`,
  },
  { code: '65001', error: 'consent_required', title: /Permission to use the app was not given/, fix: () => /Grant admin consent/ },
  {
    code: '50020',
    error: 'invalid_request',
    title: /Your account is from an organisation this app does not accept/,
    fix: () => /O365_TENANT=common/,
  },
  { code: '54005', error: 'invalid_grant', title: /already been used or has expired/, fix: () => /start the sign-in again/ },
  { code: '70008', error: 'invalid_grant', title: /already been used or has expired/, fix: () => /start the sign-in again/ },
  {
    code: '90014',
    error: 'invalid_request',
    title: /Microsoft received an incomplete sign-in request/,
    fix: () => /rather than from a bookmark or an old link/,
  },
];

describe('errors that teach: each known AADSTS code gets its own fix', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  for (const { code, error, title, fix } of CASES) {
    it(`when Microsoft answers AADSTS${code}, then the page names the problem and the fix, with the code and correlation id in the details`, async () => {
      const page = await errorCallback(harness, error, `AADSTS${code}: Something Microsoft said.`);
      assert.equal(page.status, 400);
      assert.match(page.body, title);
      const expectedFix = fix(harness);
      if (typeof expectedFix === 'string') assert.ok(page.body.includes(expectedFix), expectedFix);
      else assert.match(page.body, expectedFix);
      assert.ok(page.body.includes(`<code>AADSTS${code}</code>`));
      assert.ok(page.body.includes(`AADSTS${code}: Something Microsoft said.`));
      assert.ok(page.body.includes('<dt>Correlation ID</dt><dd><code>7a2e4f60-0000-4000-8000-000000000002</code>'));
      assert.ok(page.body.includes('<dt>Timestamp</dt><dd>2026-11-28 10:00:00Z</dd>'));
      assert.equal(await harness.database.prisma.user.count(), 0);
    });
  }

  it('when the person declines (access_denied), then 403 "You did not sign in" with how to get consent', async () => {
    const page = await errorCallback(harness, 'access_denied', 'AADSTS65004: User declined to consent to access the app.');
    assert.equal(page.status, 403);
    assert.match(page.body, /<h1 id="error-heading">You did not sign in<\/h1>/);
    assert.match(page.body, /Grant admin consent/);
  });

  it('when the error description carries HTML, then it is shown escaped', async () => {
    const page = await errorCallback(harness, 'invalid_request', 'AADSTS90014: <img src=x onerror=alert(1)>');
    assert.ok(!page.body.includes('<img src=x'));
    assert.ok(page.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });
});
