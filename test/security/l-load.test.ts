import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MAX_PENDING_SIGN_INS } from '../../src/auth/pending-sign-ins.ts';
import { DatabaseSessionStore } from '../../src/sessions/session-store.ts';
import { sessionCookieSettings } from '../../src/sessions/session-middleware.ts';
import { silentLogger } from '../../src/log.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { assertNothingWritten, assertRejectPage, resetHarness, useHarness } from '../support/outcomes.ts';
import { rawGet } from '../support/raw-http.ts';

describe('L. load: rate limits and bounded sessions', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { SIGN_IN_RATE_LIMIT: '20' } });
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await resetHarness(harness);
  });

  it('S46: when one address bursts /connect and the callback, then 429 pages after the limit, and the stored sessions stay bounded', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) statuses.push((await harness.browser().request(`${harness.baseUrl}/connect`)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(302));
    assert.deepEqual(statuses.slice(20), Array(10).fill(429));
    const limited = await harness.browser().request(`${harness.baseUrl}/connect/get_token?state=x&code=y`);
    assert.equal(limited.status, 429, 'the callback shares the limit');
    assert.match(limited.body, /Too many sign-in attempts/);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.ok((await harness.database.prisma.session.count({ where: { destroyed: false } })) <= 20, 'no session for a refused request');
    assert.equal((await harness.browser().request(`${harness.baseUrl}/`)).status, 200, 'the rest of the site still answers');
  });
});

describe('L. load: the rate limit without TRUST_PROXY', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { SIGN_IN_RATE_LIMIT: '5' } });
  });
  after(async () => {
    await harness.close();
  });

  it('S46: when one address rotates X-Forwarded-For and Forwarded without TRUST_PROXY, then it is still one client: 429 after the limit', async () => {
    assert.equal(harness.config.trustProxy, false);
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i += 1) {
      const page = await rawGet(`${harness.baseUrl}/connect`, { 'X-Forwarded-For': `203.0.113.${i}`, Forwarded: `for=203.0.113.${i}` });
      statuses.push(page.status);
    }
    assert.deepEqual(statuses, [...Array(5).fill(302), ...Array(5).fill(429)]);
  });
});

describe('L. load: sessions', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S46: when anonymous visitors browse, no session is stored; pending sign-ins per session are capped and expired ones dropped; expired sessions are purged', async () => {
    for (let i = 0; i < 20; i += 1) {
      const page = await harness.browser().request(`${harness.baseUrl}/${['', 'no-such-page', 'connect/get_token?state=x'][i % 3]}`);
      assert.equal(page.headers.getSetCookie().length, 0);
    }
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);

    const browser = harness.browser();
    for (let i = 0; i < 3 * MAX_PENDING_SIGN_INS; i += 1) await browser.request(`${harness.baseUrl}/connect`);
    const row = await harness.database.prisma.session.findFirstOrThrow();
    assert.equal((JSON.parse(row.data) as { pendingSignIns: unknown[] }).pendingSignIns.length, MAX_PENDING_SIGN_INS);
    harness.clock.advance(11 * 60 * 1000);
    await browser.request(`${harness.baseUrl}/connect`);
    const later = await harness.database.prisma.session.findFirstOrThrow();
    assert.equal(
      (JSON.parse(later.data) as { pendingSignIns: unknown[] }).pendingSignIns.length,
      1,
      'expired pending sign-ins are dropped',
    );

    const past = new Date(harness.clock.now() - 1000);
    await harness.database.prisma.session.createMany({
      data: [1, 2, 3].map(() => ({ id: crypto.randomUUID(), data: '{}', expiresAt: past })),
    });
    const store = new DatabaseSessionStore(harness.database.handle.sql, {
      cookie: sessionCookieSettings(harness.config),
      logger: silentLogger,
      now: harness.clock.now,
    });
    try {
      assert.equal(await store.purgeExpired(), 3);
    } finally {
      store.close();
    }
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 1, 'the live one stays');
  });

  it('S47: when 500 forged callbacks arrive at once, then all are REJECT and the token endpoint is never called', async () => {
    const victim = harness.browser();
    await harness.authorize(victim);
    const before = harness.idp.tokenRequestCount();
    const pages = await Promise.all(
      Array.from({ length: 500 }, (_, index) => {
        const browser = index % 2 === 0 ? harness.browser() : victim;
        return browser.request(
          `${harness.baseUrl}/connect/get_token?code=${crypto.randomBytes(40).toString('base64url')}&state=${crypto.randomBytes(32).toString('base64url')}`,
        );
      }),
    );
    for (const page of pages) assertRejectPage(page);
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingWritten(harness);
  });

  it('S47: when 100 valid callbacks arrive at once right after a key roll, then all sign in and the JWKS is fetched at most once', async () => {
    const warm = harness.browser();
    assert.equal((await warm.request(await harness.authorize(warm))).status, 303, 'keys cached');
    const browsers = Array.from({ length: 100 }, () => harness.browser());
    const callbacks: string[] = [];
    for (const [index, browser] of browsers.entries())
      callbacks.push(await harness.authorize(browser, harness.idp.accounts[index % harness.idp.accounts.length]));
    harness.idp.setFault('keys-rolled');
    harness.clock.advance(2 * 60 * 1000);
    const before = harness.idp.jwksRequestCount();
    const pages = await Promise.all(callbacks.map((callbackUrl, index) => browsers[index]!.request(callbackUrl)));
    assert.deepEqual([...new Set(pages.map((page) => page.status))], [303]);
    assert.ok(harness.idp.jwksRequestCount() - before <= 1, `JWKS fetched ${harness.idp.jwksRequestCount() - before} times`);
  });

  it('S47: when two tabs of one browser sign in at once as two people, then both succeed or the stale one is REJECT, never a 500 or a mixed-up user', async () => {
    const [adele, alex] = harness.idp.accounts;
    const browser = harness.browser();
    const first = await harness.authorize(browser, adele);
    const second = await harness.authorize(browser, alex);
    const pages = await Promise.all([browser.request(first), browser.request(second)]);
    for (const page of pages) assert.ok(page.status === 303 || page.status === 400, `status ${page.status}`);
    assert.ok(pages.some((page) => page.status === 303));
    const home = await browser.request(`${harness.baseUrl}/`);
    const shownName = home.body.match(/<h1 id="user-heading">Signed in as ([^<]+)<\/h1>/)?.[1];
    assert.ok(shownName === adele!.displayName || shownName === alex!.displayName, `shown: ${shownName}`);
    const user = await harness.database.prisma.user.findFirstOrThrow({ where: { displayName: shownName } });
    const shownToken = home.body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
    const sessions = await harness.database.prisma.session.findMany();
    assert.ok(sessions.some((row) => (JSON.parse(row.data) as { userId?: string }).userId === user.id));
    assert.ok(shownToken && harness.idp.issuedAccessTokens.includes(shownToken), 'the token shown is one the provider issued');
  });
});
