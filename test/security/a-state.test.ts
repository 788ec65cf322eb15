import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPendingSignIn } from '../../src/auth/pending-sign-ins.ts';
import { countRows, holdWritesUntilSessionsRead } from '../support/database.ts';
import { readForm } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import type { Harness } from '../support/harness.ts';
import type { Page } from '../support/http-browser.ts';
import { assertNothingHappened, assertNothingWritten, assertRejectPage, assertSignedOut, useHarness } from '../support/outcomes.ts';

describe('A. state and CSRF on the callback', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S1: when the callback has no state, then REJECT, the token endpoint is not called and nothing is written', async () => {
    const browser = harness.browser();
    const callbackUrl = new URL(await harness.authorize(browser));
    callbackUrl.searchParams.delete('state');
    const before = harness.idp.tokenRequestCount();
    assertRejectPage(await browser.request(callbackUrl.href));
    for (const empty of ['&state=', '&state']) {
      assertRejectPage(await browser.request(`${callbackUrl.href}${empty}`));
    }
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingHappened(harness, browser);
  });

  it('S2: when the state matches no pending sign-in of this browser, then REJECT and the token endpoint is not called', async () => {
    const browser = harness.browser();
    const callbackUrl = new URL(await harness.authorize(browser));
    const before = harness.idp.tokenRequestCount();
    for (const forged of ['forged-state-value', createPendingSignIn(Date.now()).state, `${callbackUrl.searchParams.get('state')}x`]) {
      callbackUrl.searchParams.set('state', forged);
      assertRejectPage(await browser.request(callbackUrl.href));
    }
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingHappened(harness, browser);
  });

  it("S3: when a victim's browser delivers the attacker's own valid code and state (login CSRF), then REJECT and the victim is never signed in as the attacker", async () => {
    const attacker = harness.browser();
    const attackersCallback = await harness.authorize(attacker, harness.idp.accounts[1]);
    const victim = harness.browser();
    await harness.authorize(victim, harness.idp.accounts[0]); // the victim even has a sign-in of their own pending
    const before = harness.idp.tokenRequestCount();
    assertRejectPage(await victim.request(attackersCallback));
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingHappened(harness, victim);
  });

  it('S4: when the same callback URL is loaded twice (Back, refresh), then the second is REJECT and the token endpoint was called once', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    assert.equal((await browser.request(callbackUrl)).status, 303);
    assertRejectPage(await browser.request(callbackUrl));
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
    assert.equal(await harness.database.prisma.user.count(), 1);
  });

  it('S4: when two copies of one callback arrive at the same moment (a double-fired navigation), then one signs in, the other is REJECT, and the code is redeemed once', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    const pages = await Promise.all([browser.request(callbackUrl), browser.request(callbackUrl)]);
    assert.deepEqual(pages.map((page) => page.status).sort(), [303, 400]);
    assertRejectPage(pages.find((page) => page.status === 400)!);
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
    assert.equal(await harness.database.prisma.user.count(), 1);
  });

  it('S4: when a callback URL that signed in is loaded again on another instance (or after a restart), then REJECT: the pending sign-in was consumed in the stored session, not only remembered by one process', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    assert.equal((await browser.request(callbackUrl)).status, 303);
    const other = await startInstance(harness);
    try {
      assertRejectPage(await browser.request(other.urlOf(callbackUrl)));
    } finally {
      await other.close();
    }
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
    assert.equal(await harness.database.prisma.user.count(), 1);
  });

  it('S4: when two copies of one callback have both loaded the session before either saves it, then the code is redeemed once and only one is signed in', {
    timeout: 30_000,
  }, async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    // The stored consumption cannot stop the second copy here: only the guard against concurrent copies can.
    const other = await startInstance(harness);
    const before = harness.idp.tokenRequestCount();
    let pages: Page[];
    try {
      pages = await holdWritesUntilSessionsRead(harness.database, other.statements, 2, () =>
        Promise.all([browser.request(other.urlOf(callbackUrl)), browser.request(other.urlOf(callbackUrl))]),
      );
    } finally {
      await other.close();
    }
    assert.deepEqual(pages.map((page) => page.status).sort(), [303, 400]);
    assertRejectPage(pages.find((page) => page.status === 400)!);
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
    assert.deepEqual(await countRows(harness.database.prisma), { users: 1, tokenSets: 1, signedInSessions: 1 });
  });

  it('S5: when a pending sign-in is older than 10 minutes, then REJECT, the token endpoint is not called and nothing is written', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    harness.clock.advance(10 * 60 * 1000 + 1000);
    const before = harness.idp.tokenRequestCount();
    assertRejectPage(await browser.request(callbackUrl));
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingHappened(harness, browser);

    const fresh = harness.browser();
    const freshCallback = await harness.authorize(fresh);
    harness.clock.advance(9 * 60 * 1000);
    assert.equal((await fresh.request(freshCallback)).status, 303, 'nine minutes is still in time');
  });

  it('S6: when /connect runs, then state, nonce and verifier are fresh 256-bit CSPRNG values kept only server-side; 10,000 samples have no duplicates', async () => {
    const samples = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) {
      const { state, nonce, codeVerifier } = createPendingSignIn(0);
      for (const value of [state, nonce, codeVerifier]) {
        assert.match(value, /^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url: 256 bits');
        samples.add(value);
      }
    }
    assert.equal(samples.size, 30_000);

    const browser = harness.browser();
    const connect = await browser.request(`${harness.baseUrl}/connect`);
    assert.equal(connect.status, 302);
    const authorization = new URL(connect.location!);
    const row = await harness.database.prisma.session.findFirstOrThrow();
    const [pending] = (JSON.parse(row.data) as { pendingSignIns: { state: string; nonce: string; codeVerifier: string }[] }).pendingSignIns;
    assert.ok(pending, 'kept server-side, in the session row');
    assert.equal(authorization.searchParams.get('state'), pending.state);
    assert.equal(authorization.searchParams.get('nonce'), pending.nonce);
    assert.ok(!connect.location!.includes(pending.codeVerifier), 'the verifier never leaves the server');
    const cookie = connect.headers.getSetCookie().join('\n');
    for (const value of [pending.state, pending.nonce, pending.codeVerifier]) {
      assert.ok(!cookie.includes(value), 'nothing of it in the cookie');
      assert.ok(!harness.logs.join('\n').includes(value), 'nor in the logs');
    }
    assert.ok(!connect.body.includes(pending.codeVerifier), 'the verifier is not in the response body');
    const second = await browser.request(`${harness.baseUrl}/connect`);
    assert.notEqual(new URL(second.location!).searchParams.get('state'), pending.state, 'fresh per /connect');
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.ok(!home.body.includes(pending.state) && !home.body.includes(pending.nonce), 'never in HTML');
  });

  it('S7: when error=access_denied comes with a wrong or missing state, then REJECT without echoing attacker text', async () => {
    const browser = harness.browser();
    await harness.authorize(browser);
    const attackerText = '<script>alert(1)</script>Call +1-555-0100 to restore your account';
    for (const state of ['&state=forged', '']) {
      const page = await browser.request(
        `${harness.baseUrl}/connect/get_token?error=access_denied${state}&error_description=${encodeURIComponent(attackerText)}`,
      );
      assertRejectPage(page);
      assert.ok(!page.body.includes('<script>alert'));
      assert.ok(!page.body.includes('+1-555-0100'));
      assert.ok(!page.body.includes('access_denied'));
    }
    await assertNothingHappened(harness, browser);
  });

  it('S7: when the person declines at Microsoft with a valid state, then a "you declined" page, the pending sign-in is consumed and nothing is stored', async () => {
    const browser = harness.browser();
    const isCallback = (url: string) => url.startsWith(`${harness.baseUrl}/connect/get_token`);
    const loginPage = await browser.follow(`${harness.baseUrl}/connect`, { stopAt: isCallback });
    const form = readForm(loginPage);
    const cancel = loginPage.body.match(/<button[^>]*name="([^"]+)"[^>]*value="([^"]+)"[^>]*>\s*Cancel\s*<\/button>/i);
    assert.ok(cancel, 'the provider offers Cancel');
    const cancelled = await browser.follow(form.action, { stopAt: isCallback, form: { ...form.hidden, [cancel[1]!]: cancel[2]! } });
    assert.equal(new URL(cancelled.location!).searchParams.get('error'), 'access_denied');
    const before = harness.idp.tokenRequestCount();
    const page = await browser.request(cancelled.location!);
    assert.equal(page.status, 403);
    assert.match(page.body, /You did not sign in/);
    assertRejectPage(await browser.request(cancelled.location!));
    const other = await startInstance(harness);
    try {
      assertRejectPage(await browser.request(other.urlOf(cancelled.location!)), 400);
    } finally {
      await other.close();
    }
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingHappened(harness, browser);
  });

  it('S8: when state is repeated or sent as an array or object, then REJECT and only a single string is compared', async () => {
    const browser = harness.browser();
    const callbackUrl = new URL(await harness.authorize(browser));
    const state = callbackUrl.searchParams.get('state')!;
    const code = encodeURIComponent(callbackUrl.searchParams.get('code')!);
    const before = harness.idp.tokenRequestCount();
    for (const query of [
      `state=${state}&state=${state}`,
      `state[]=${state}`,
      `state[k]=${state}`,
      `state%5B%5D=${state}`,
      `state=${state}&state=`,
    ]) {
      assertRejectPage(await browser.request(`${harness.baseUrl}/connect/get_token?code=${code}&${query}`));
    }
    assert.equal(harness.idp.tokenRequestCount(), before);
    await assertNothingWritten(harness);
    assert.equal(
      (await browser.request(callbackUrl.href)).status,
      303,
      'the genuine single state still works: none of the above consumed it',
    );
    await assertSignedOut(harness, harness.browser());
  });
});
