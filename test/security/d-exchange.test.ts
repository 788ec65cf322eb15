import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { IdpFault } from '../../dev/idp/index.ts';
import { clientSecretOf, startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { assertFailSafePage, assertNothingHappened, resetHarness, signIn, useHarness } from '../support/outcomes.ts';
import { eventLines } from '../support/test-log.ts';

describe('D. the code exchange', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  for (const [fault, aadsts] of [
    ['token-invalid-grant', '54005'],
    ['token-code-expired', '70008'],
  ] as const) {
    it(`S22: when the token endpoint answers invalid_grant (AADSTS${aadsts}), then 400 "start again" and the stored token is untouched`, async () => {
      const earlier = await signIn(harness);
      assert.equal(earlier.callback.status, 303);
      const storedBefore = await harness.database.prisma.tokenSet.findFirstOrThrow();

      harness.idp.setFault(fault);
      const { browser, callback } = await signIn(harness);
      assert.equal(callback.status, 400);
      assert.match(callback.body, /This sign-in has already been used or has expired/);
      assert.match(callback.body, /start the sign-in again/i);
      assert.match(callback.body, new RegExp(`AADSTS${aadsts}`), 'the AADSTS number is shown as a detail');
      assert.match(callback.body, /href="\/connect"/);
      assert.deepEqual(await harness.database.prisma.tokenSet.findFirstOrThrow(), storedBefore);
      assert.doesNotMatch((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
      assert.match((await earlier.browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'the earlier session is unaffected');
    });
  }

  for (const [fault, aadsts] of [
    ['token-invalid-client', '7000215'],
    ['token-client-secret-expired', '7000222'],
  ] as const) {
    it(`S23: when the token endpoint answers invalid_client (AADSTS${aadsts}), then FAIL-SAFE with a fix for the operator, and the secret is never shown or logged`, async () => {
      harness.idp.setFault(fault);
      const { browser, callback } = await signIn(harness);
      assertFailSafePage(callback);
      assert.equal(callback.status, 502);
      assert.match(callback.body, new RegExp(`AADSTS${aadsts}`));
      assert.match(callback.body, /O365_APP_KEY/);
      assert.match(callback.body, /Certificates &amp; secrets/);
      assert.match(callback.body, /Correlation ID<\/dt><dd><code>[0-9a-f-]{36}<\/code>/);
      assert.ok(!callback.body.includes(clientSecretOf(harness.config)));
      assert.ok(!harness.logs.join('\n').includes(clientSecretOf(harness.config)));
      const logged = JSON.parse(eventLines(harness.logs).at(-1)!) as Record<string, unknown>;
      assert.equal(logged.error, 'invalid_client');
      assert.equal(logged.aadsts, aadsts);
      assert.match(String(logged.correlation_id), /^[0-9a-f-]{36}$/);
      await assertNothingHappened(harness, browser);
    });
  }

  it('S24: when the sign-in succeeds, then 303 to / so the code leaves the address bar, Referrer-Policy is no-referrer and pages load nothing from third parties', async () => {
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    assert.equal(callback.location, `${harness.baseUrl}/`);
    assert.equal(callback.headers.get('referrer-policy'), 'no-referrer');
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.equal(home.headers.get('referrer-policy'), 'no-referrer');
    assert.match(home.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const references = [...home.body.matchAll(/\b(?:src|href|action)="([^"]*)"/g)].map((match) => match[1]!);
    assert.ok(references.length > 0);
    for (const reference of references) {
      assert.ok(
        reference.startsWith('#') || (reference.startsWith('/') && !reference.startsWith('//')),
        `same-origin only, found ${reference}`,
      );
    }
  });
});

describe('I. identity-provider faults at the token endpoint', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { O365_HTTP_TIMEOUT_MS: '1000' } });
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await resetHarness(harness);
  });

  it('S38: when the token endpoint hangs, then the configured timeout gives FAIL-SAFE and the code is never posted twice', async () => {
    harness.idp.setFault('token-hang');
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    const started = Date.now();
    const page = await browser.request(callbackUrl);
    const elapsed = Date.now() - started;
    assertFailSafePage(page);
    assert.ok(elapsed >= 900 && elapsed < 30_000, `gave up after the 1 s timeout (took ${elapsed} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(harness.idp.tokenRequestCount(), before + 1, 'posted once, no retry');
    await assertNothingHappened(harness, browser);
    assert.equal(harness.config.httpTimeoutMs, 1000, 'from O365_HTTP_TIMEOUT_MS');
  });

  for (const fault of [
    'token-server-error',
    'token-service-unavailable',
    'token-temporarily-unavailable',
    'token-throttled',
    'token-html',
    'token-truncated-json',
    'response-no-access-token',
    'response-token-type-mac',
    'response-no-id-token',
  ] satisfies IdpFault[]) {
    it(`S39: when the token endpoint answers ${fault.replace(/^(token|response)-/, '')}, then FAIL-SAFE and nothing is stored`, async () => {
      harness.idp.setFault(fault);
      const { browser, callback } = await signIn(harness);
      assertFailSafePage(callback);
      await assertNothingHappened(harness, browser);
      assert.ok(
        harness.idp.issuedAccessTokens.every((token) => !harness.logs.join('\n').includes(token)),
        'no token in the log',
      );
    });
  }

  it('S39: when only expires_in is missing, then the sign-in succeeds with a one-hour expiry', async () => {
    harness.idp.setFault('response-no-expires-in');
    const { callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    const tokenSet = await harness.database.prisma.tokenSet.findFirstOrThrow();
    const lifetime = (tokenSet.expiresAt.getTime() - tokenSet.updatedAt.getTime()) / 1000;
    assert.ok(Math.abs(lifetime - 3600) < 120, `about an hour, got ${lifetime} s`);
  });

  it('S41: when the token endpoint answers with a 3xx, then the app does not follow it (the code is posted once) and shows FAIL-SAFE', async () => {
    harness.idp.setFault('token-redirect');
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    assertFailSafePage(await browser.request(callbackUrl));
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
    await assertNothingHappened(harness, browser);
  });
});

describe('I. discovery faults', () => {
  it('S40: when discovery is down or slow, then FAIL-SAFE for new sign-ins, and once fetched a cached document keeps sign-ins working', async () => {
    const harness = await startHarness({ env: { O365_HTTP_TIMEOUT_MS: '1000' } });
    try {
      for (const fault of ['discovery-error', 'discovery-hang'] satisfies IdpFault[]) {
        harness.idp.setFault(fault);
        const browser = harness.browser();
        const page = await browser.request(`${harness.baseUrl}/connect`);
        assertFailSafePage(page);
        await assertNothingHappened(harness, browser);
      }
      harness.idp.setFault(null);
      assert.equal((await signIn(harness)).callback.status, 303);
      harness.idp.setFault('discovery-error');
      harness.clock.advance(25 * 60 * 60 * 1000);
      assert.equal((await signIn(harness)).callback.status, 303, 'the cached document outlives its refresh time while discovery is down');
      assert.equal((await harness.browser().request(`${harness.baseUrl}/`)).status, 200, 'the server is still up');
    } finally {
      await harness.close();
    }
  });
});
