import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { clientSecretOf, startHarness } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import type { Harness } from '../support/harness.ts';
import { SESSION_COOKIE, assertSignedOut, signIn, useHarness } from '../support/outcomes.ts';
import { rawGet } from '../support/raw-http.ts';

const MINUTE = 60 * 1000;

describe('F. session, cookies and headers', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S27: when a person signs in, then the session id changes and the pre-sign-in cookie is dead', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = browser.cookie(SESSION_COOKIE)!;
    assert.ok(before);
    assert.equal((await browser.request(callbackUrl)).status, 303);
    assert.notEqual(browser.cookie(SESSION_COOKIE), before);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
    const planted = harness.browser();
    planted.setCookie(SESSION_COOKIE, before);
    await assertSignedOut(harness, planted);
    const oldId = decodeURIComponent(before).slice(2).split('.')[0]!;
    assert.equal(await harness.database.prisma.session.count({ where: { id: oldId, destroyed: false } }), 0, 'the old row is dead');
  });

  it('S28: when BASE_URL is https behind a trusted proxy, then the cookie is __Host-, Secure, HttpOnly, Path=/, SameSite=Lax, and HSTS is sent (S31)', async () => {
    const https = await startHarness({ env: { BASE_URL: 'https://signin.example.com', TRUST_PROXY: 'loopback' } });
    try {
      const connect = await rawGet(`${https.baseUrl}/connect`, { 'X-Forwarded-Proto': 'https', Host: 'signin.example.com' });
      assert.equal(connect.status, 302);
      const [cookie, ...others] = connect.headers['set-cookie'] ?? [];
      assert.equal(others.length, 0);
      assert.match(cookie!, /^__Host-o365signin\.sid=/);
      const attributes = cookie!
        .split(';')
        .slice(1)
        .map((part) => part.trim().toLowerCase());
      for (const expected of ['secure', 'httponly', 'path=/', 'samesite=lax'])
        assert.ok(attributes.includes(expected), `${expected} in ${cookie}`);
      assert.ok(!attributes.some((attribute) => attribute.startsWith('domain=')), '__Host- cookies carry no Domain');
      assert.match(String(connect.headers['strict-transport-security']), /max-age=\d+/);
      assert.equal(new URL(connect.headers.location!).searchParams.get('redirect_uri'), 'https://signin.example.com/connect/get_token');

      const plain = await rawGet(`${https.baseUrl}/connect`);
      assert.equal(plain.headers['set-cookie'], undefined, 'a Secure cookie is never sent over a hop the proxy did not mark https');
    } finally {
      await https.close();
    }
    const http = await rawGet(`${harness.baseUrl}/`);
    assert.equal(http.headers['strict-transport-security'], undefined, 'no HSTS on plain http');
  });

  it('S29: when a session is idle for more than 30 minutes, then it is over; activity within 30 minutes keeps it', async () => {
    assert.equal(harness.config.sessionIdleMinutes, 30);
    assert.equal(harness.config.sessionMaxHours, 12);
    const { browser } = await signIn(harness);
    for (let i = 0; i < 3; i += 1) {
      harness.clock.advance(25 * MINUTE);
      assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'each visit slides the idle limit');
    }
    harness.clock.advance(31 * MINUTE);
    await assertSignedOut(harness, browser);
  });

  it('S29: when a session is older than SESSION_MAX_HOURS, then it is over even if it was never idle', async () => {
    const short = await startHarness({ env: { SESSION_MAX_HOURS: '1', SESSION_IDLE_MINUTES: '120' } });
    try {
      const { browser } = await signIn(short);
      short.clock.advance(50 * MINUTE);
      assert.match((await browser.request(`${short.baseUrl}/`)).body, /Signed in as/);
      short.clock.advance(20 * MINUTE);
      await assertSignedOut(short, browser);
    } finally {
      await short.close();
    }
  });

  it('S30: when /connect redirects, then the session is already in the database, and another instance on the same database finishes the sign-in', async () => {
    const browser = harness.browser();
    const connect = await browser.request(`${harness.baseUrl}/connect`);
    assert.equal(connect.status, 302);
    const rows = await harness.database.prisma.session.findMany();
    assert.equal(rows.length, 1, 'saved before the redirect');
    assert.equal((JSON.parse(rows[0]!.data) as { pendingSignIns: unknown[] }).pendingSignIns.length, 1);

    const parsed = parseConfig({
      O365_APP_ID: harness.config.appId,
      O365_APP_KEY: clientSecretOf(harness.config),
      O365_AUTHORITY_HOST: harness.config.authorityHost,
      BASE_URL: harness.baseUrl,
      DATABASE_URL: harness.database.url,
      SESSION_SECRET: harness.config.sessionSecret,
      TOKEN_ENCRYPTION_KEY: harness.config.tokenEncryptionKey.toString('base64'),
    });
    assert.ok(parsed.ok);
    const second = await startInstance(harness, { config: parsed.config });
    try {
      const callback = await browser.request(second.urlOf(await harness.authorize(browser)));
      assert.equal(callback.status, 303, 'the second instance found the pending sign-in in the shared database');
      assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'and the first instance sees the new session');
    } finally {
      await second.close();
    }
  });

  it('S31: when any page is served, then CSP, nosniff and no inline script or style attributes', async () => {
    const { browser } = await signIn(harness);
    const pages = [
      await browser.request(`${harness.baseUrl}/`),
      await browser.request(`${harness.baseUrl}/connect/get_token?state=x`),
      await browser.request(`${harness.baseUrl}/no-such-page`),
      await browser.request(`${harness.baseUrl}/connect/get_token?code=${'x'.repeat(20_000)}`),
      await harness.browser().request(`${harness.baseUrl}/`),
    ];
    assert.deepEqual(
      pages.map((page) => page.status),
      [200, 400, 404, 414, 200],
    );
    for (const page of pages) {
      const csp = page.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
      ]) {
        assert.ok(csp.includes(directive), `${directive} in ${csp}`);
      }
      assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      for (const script of page.body.matchAll(/<script\b[^>]*>/gi))
        assert.match(script[0], /\bsrc="\/[^"]+"/, 'scripts are files, never inline');
      assert.doesNotMatch(page.body, /<[^>]+\s(on[a-z]+|style)\s*=/i, 'no event-handler or style attributes');
      assert.doesNotMatch(page.body, /<style\b/i);
    }
  });
});
