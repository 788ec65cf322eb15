import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTokenCipher, tokenContext } from '../../src/tokens/token-cipher.ts';
import { clientSecretOf, readForm, startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { SESSION_COOKIE, assertNothingWritten, assertSignedOut, useHarness } from '../support/outcomes.ts';

// The callback's failure paths one by one (missing, forged, replayed or repeated state, login CSRF, declined with a
// forged state, every token-endpoint and ID-token fault) are proven in test/security (S1–S24, S38–S41).
describe('sign-in against the local identity provider', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when a person signs in, then the page shows the token stored in the database, which is the one the provider issued', async () => {
    const browser = harness.browser();
    const signedOut = await browser.request(`${harness.baseUrl}/`);
    assert.equal(signedOut.status, 200);
    assert.match(signedOut.body, /<a class="button button-primary" href="\/connect">/);
    assert.equal(signedOut.headers.getSetCookie().length, 0, 'no session is saved for an anonymous visitor');

    const callbackUrl = await harness.authorize(browser);
    const cookieBeforeSignIn = browser.cookie(SESSION_COOKIE);
    assert.ok(cookieBeforeSignIn, '/connect stored a session for the pending sign-in');
    const callback = await browser.request(callbackUrl);
    assert.equal(callback.status, 303);
    assert.equal(callback.location, `${harness.baseUrl}/`);
    assert.notEqual(browser.cookie(SESSION_COOKIE), cookieBeforeSignIn, 'the session id changes at sign-in');

    const home = await browser.request(`${harness.baseUrl}/`);
    assert.equal(home.status, 200);
    assert.equal(home.headers.get('cache-control'), 'no-store');
    const account = harness.idp.accounts[0]!;
    assert.match(home.body, new RegExp(`Signed in as ${account.displayName}`));
    assert.ok(home.body.includes(account.username));
    assert.ok(home.body.includes(account.tenantId));
    const shown = home.body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
    assert.ok(shown, 'the access token is on the page');

    const user = await harness.database.prisma.user.findFirstOrThrow({ include: { tokenSet: true } });
    assert.equal(user.tenantId, account.tenantId);
    assert.equal(user.objectId, account.objectId);
    const cipher = createTokenCipher([harness.config.tokenEncryptionKey]);
    const stored = cipher.open(user.tokenSet!.accessToken, tokenContext(user, 'accessToken'));
    assert.equal(shown, stored);
    assert.equal(stored, harness.idp.issuedAccessTokens.at(-1));
    assert.ok(!user.tokenSet!.accessToken.includes(stored), 'the database holds ciphertext, not the token');
    assert.ok(user.tokenSet!.refreshToken, 'offline_access gave a refresh token, stored encrypted');
    assert.match(home.body, /User\.Read/);
    assert.equal(harness.idp.tokenRequestCount(), 1);

    const oldCookie = harness.browser();
    oldCookie.setCookie(SESSION_COOKIE, cookieBeforeSignIn);
    await assertSignedOut(harness, oldCookie);
  });

  it('when the same person signs in twice, then there is still one user with the newest token', async () => {
    for (let i = 0; i < 2; i += 1) {
      const browser = harness.browser();
      const callback = await browser.request(await harness.authorize(browser));
      assert.equal(callback.status, 303);
    }
    assert.equal(await harness.database.prisma.user.count(), 1);
    assert.equal(await harness.database.prisma.tokenSet.count(), 1);
  });

  it('when two people sign in, then each page shows only its own user', async () => {
    const [first, second] = harness.idp.accounts;
    const alice = harness.browser();
    const bob = harness.browser();
    await alice.request(await harness.authorize(alice, first));
    await bob.request(await harness.authorize(bob, second));
    assert.match((await alice.request(`${harness.baseUrl}/`)).body, new RegExp(`Signed in as ${first!.displayName}`));
    assert.match((await bob.request(`${harness.baseUrl}/`)).body, new RegExp(`Signed in as ${second!.displayName}`));
  });

  it('when two tabs of one browser sign in at once, then both callbacks succeed', async () => {
    const browser = harness.browser();
    const firstTab = await harness.authorize(browser);
    const secondTab = await harness.authorize(browser);
    assert.equal((await browser.request(firstTab)).status, 303);
    assert.equal((await browser.request(secondTab)).status, 303);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
  });

  it('when the person cancels at Microsoft, then 403 "You did not sign in", the pending sign-in is used up and nothing is written', async () => {
    const browser = harness.browser();
    const isCallback = (url: string) => url.startsWith(`${harness.baseUrl}/connect/get_token`);
    const loginPage = await browser.follow(`${harness.baseUrl}/connect`, { stopAt: isCallback });
    const form = readForm(loginPage);
    const cancelled = await browser.follow(form.action, { stopAt: isCallback, form: { ...form.hidden, ...cancelField(loginPage.body) } });
    assert.ok(cancelled.location && isCallback(cancelled.location), `back to the app, got ${cancelled.status}`);
    assert.equal(new URL(cancelled.location).searchParams.get('error'), 'access_denied');
    const page = await browser.request(cancelled.location);
    assert.equal(page.status, 403);
    assert.match(page.body, /You did not sign in/);
    assert.match(page.body, /AADSTS65004/);
    assert.equal((await browser.request(cancelled.location)).status, 400, 'the pending sign-in was consumed');
    await assertNothingWritten(harness);
    await assertSignedOut(harness, browser);
  });

  it('when the signed-in session cannot be stored at the callback, then 503, no user and no token stay in the database, and the browser is signed out', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    // Only the new session's row fails: the state is consumed (an update), the user and tokens are written, then the session.
    const restore = await harness.database.failSessionInserts();
    try {
      const page = await browser.request(callbackUrl);
      assert.equal(page.status, 503, page.body.slice(0, 300));
      assert.match(page.body, /Try again/);
    } finally {
      await restore();
    }
    await assertNothingWritten(harness);
    await assertSignedOut(harness, browser);
  });

  it('when the token endpoint refuses the client secret, then 502 with AADSTS7000215, the correlation id and an operator fix', async () => {
    harness.idp.setFault('token-invalid-client');
    const browser = harness.browser();
    const page = await browser.request(await harness.authorize(browser));
    assert.equal(page.status, 502);
    assert.match(page.body, /AADSTS7000215/);
    assert.match(page.body, /Correlation ID<\/dt><dd><code>[0-9a-f-]{36}<\/code>/);
    assert.match(page.body, /Certificates &amp; secrets/);
    assert.ok(!page.body.includes(clientSecretOf(harness.config)));
    await assertNothingWritten(harness);
    await assertSignedOut(harness, browser);
  });

  it('when the callback is posted to, then 405 with an Allow header', async () => {
    const page = await harness.browser().request(`${harness.baseUrl}/connect/get_token`, { method: 'POST', form: { state: 'x' } });
    assert.equal(page.status, 405);
    assert.equal(page.headers.get('allow'), 'GET, HEAD');
  });

  it('when a signed-in person signs out with the form, then the session row is gone and the old cookie is anonymous', async () => {
    const browser = harness.browser();
    await browser.request(await harness.authorize(browser));
    const home = await browser.request(`${harness.baseUrl}/`);
    const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
    assert.ok(csrf);
    const signedInCookie = browser.cookie(SESSION_COOKIE)!;

    assert.equal((await browser.request(`${harness.baseUrl}/logout`)).status, 405, 'GET does not sign out');
    assert.equal((await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: 'wrong' } })).status, 403);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'a forged POST changed nothing');

    const out = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } });
    assert.equal(out.status, 303);
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
    const replayed = harness.browser();
    replayed.setCookie(SESSION_COOKIE, signedInCookie);
    await assertSignedOut(harness, replayed);
    assert.match((await browser.request(out.location!)).body, /You are signed out/);
  });
});

describe('when the identity provider is unreachable', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { O365_AUTHORITY_HOST: 'http://127.0.0.1:9', GRAPH_BASE_URL: 'http://127.0.0.1:9' } });
  });
  after(async () => {
    await harness.close();
  });

  it('then /connect shows a 503 page, the server stays up and nothing is written', async () => {
    const browser = harness.browser();
    const page = await browser.request(`${harness.baseUrl}/connect`);
    assert.equal(page.status, 503);
    assert.match(page.body, /Microsoft sign-in is unavailable/);
    assert.doesNotMatch(page.body, /at .*\.ts:\d+/, 'no stack trace');
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200, 'the server is still up');
    await assertNothingWritten(harness);
  });
});

describe('when the identity provider goes down between sign-in and callback', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('then the callback shows a 5xx page and nothing is written', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    await harness.idp.close();
    const page = await browser.request(callbackUrl);
    assert.ok(page.status === 502 || page.status === 503 || page.status === 504, `status ${page.status}`);
    assert.match(page.body, /Microsoft sign-in is unavailable/);
    await assertNothingWritten(harness);
    await assertSignedOut(harness, browser);
  });
});

function cancelField(body: string): Record<string, string> {
  const button = body.match(/<button[^>]*name="([^"]+)"[^>]*value="([^"]+)"[^>]*>\s*Cancel\s*<\/button>/i);
  if (button) return { [button[1]!]: button[2]! };
  return { cancel: '1' };
}
