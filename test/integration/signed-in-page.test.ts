import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser, Page } from '../support/http-browser.ts';
import { signIn, useHarness } from '../support/outcomes.ts';
import { askForToken, csrfOf, decodeHtml, listedTokens } from '../support/resource-pages.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';

const kind = testDatabaseKind();
const OUTLOOK = 'https://outlook.office.com';

/** The default access token the page shows. */
function shownAccessToken(page: Page): string | undefined {
  const token = page.body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
  return token === undefined ? undefined : decodeHtml(token);
}

/** Whether the default token's "Expires" line says it has expired. */
function shownExpired(page: Page): boolean {
  const expires = page.body.match(/<dt>Expires<\/dt>[\s\S]*?<\/dd>/)?.[0];
  assert.ok(expires !== undefined, 'the page shows when the token expires');
  return expires.includes('(expired)');
}

async function home(harness: Harness, browser: HttpBrowser): Promise<Page> {
  const page = await browser.request(`${harness.baseUrl}/`);
  assert.equal(page.status, 200);
  return page;
}

// The page is kept rendered per distinct facts (src/web/signed-in-page.ts): each test shows a kept page, changes one
// thing the page shows, and expects the next view to show the change.
describe(`the signed-in page, kept rendered, never stale nor another's (${kind})`, () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when the page is viewed again with nothing changed, then it is the same bytes, no-store, as HTML', async () => {
    const { browser } = await signIn(harness);
    const first = await home(harness, browser);
    const again = await home(harness, browser);
    assert.equal(again.body, first.body);
    assert.equal(again.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(again.headers.get('cache-control'), 'no-store');
    assert.equal(again.headers.get('content-length'), String(Buffer.byteLength(first.body)));
  });

  it('when another person signs in on another browser, then each page shows its own user and token', async () => {
    const adele = await signIn(harness, harness.idp.accounts[0]!);
    const adelePage = await home(harness, adele.browser);
    const alex = await signIn(harness, harness.idp.accounts[1]!);
    const alexPage = await home(harness, alex.browser);
    assert.match(adelePage.body, /Signed in as Adele Vance/);
    assert.match(alexPage.body, /Signed in as Alex Wilber/);
    assert.doesNotMatch(alexPage.body, /Adele Vance/);
    assert.notEqual(shownAccessToken(alexPage), shownAccessToken(adelePage));
    assert.match((await home(harness, adele.browser)).body, /Signed in as Adele Vance/);
  });

  it('when the same browser signs in again as another person, then the page shows the new person', async () => {
    const { browser } = await signIn(harness, harness.idp.accounts[0]!);
    assert.match((await home(harness, browser)).body, /Signed in as Adele Vance/);
    const callback = await browser.request(await harness.authorize(browser, harness.idp.accounts[1]!));
    assert.equal(callback.status, 303);
    const after = await home(harness, browser);
    assert.match(after.body, /Signed in as Alex Wilber/);
    assert.doesNotMatch(after.body, /Adele Vance/);
  });

  it('when two browsers of the same person view the page, then each page carries its own session CSRF token, which its forms accept', async () => {
    const first = await signIn(harness);
    const second = await signIn(harness);
    const firstPage = await home(harness, first.browser);
    const secondPage = await home(harness, second.browser);
    assert.notEqual(csrfOf(secondPage), csrfOf(firstPage));
    for (const [browser, page] of [
      [first.browser, firstPage],
      [second.browser, secondPage],
    ] as const) {
      const check = await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrfOf(page) } });
      assert.equal(check.status, 303, 'the form of the page is accepted by its own session');
    }
  });

  it('when the token is refreshed elsewhere (another instance), then the next view shows the new token', async () => {
    const { browser } = await signIn(harness);
    const before = await home(harness, browser);
    const user = await harness.database.prisma.user.findFirstOrThrow();
    await harness.app.tokenService.getFreshTokens(user.id, { force: true });
    const stored = await readStoredTokens(harness);
    assert.notEqual(stored.accessToken, shownAccessToken(before));
    assert.equal(shownAccessToken(await home(harness, browser)), stored.accessToken);
  });

  it('when only the access token changes in the database, then the next view shows the new one', async () => {
    const { browser } = await signIn(harness);
    const before = await home(harness, browser);
    const stored = await readStoredTokens(harness);
    const replacement = `opaque-${crypto.randomUUID()}`;
    await harness.database.prisma.tokenSet.updateMany({ data: { accessToken: stored.seal('accessToken', replacement) } });
    const after = await home(harness, browser);
    assert.notEqual(shownAccessToken(before), replacement);
    assert.equal(shownAccessToken(after), replacement);
  });

  it('when the user is renamed in the database (a sign-in on another instance), then the next view shows the new name', async () => {
    const { browser } = await signIn(harness);
    assert.match((await home(harness, browser)).body, /Signed in as Adele Vance/);
    await harness.database.prisma.user.updateMany({ data: { displayName: 'Adele Vance-Renamed' } });
    assert.match((await home(harness, browser)).body, /Signed in as Adele Vance-Renamed/);
  });

  it('when the token expires between two views (refresh refused before, nothing else changes), then the second view says it has expired', async () => {
    const { browser } = await signIn(harness);
    await harness.database.prisma.tokenSet.updateMany({ data: { needsSignIn: true, expiresAt: new Date(harness.clock.now() + 60_000) } });
    const before = await home(harness, browser);
    assert.equal(shownExpired(before), false);
    assert.match(before.body, /Sign in again/);
    harness.clock.advance(61_000);
    const after = await home(harness, browser);
    assert.equal(shownExpired(after), true);
    assert.equal(shownAccessToken(after), shownAccessToken(before), 'the same token, now expired');
  });

  it('when Microsoft refused the refresh token on another instance, then the next view says to sign in again', async () => {
    const { browser } = await signIn(harness);
    assert.doesNotMatch((await home(harness, browser)).body, /Sign in again/);
    await harness.database.prisma.tokenSet.updateMany({ data: { needsSignIn: true } });
    assert.match((await home(harness, browser)).body, /Sign in again/);
  });

  it('when a notice is pending, then the page shows it once, and the next view the page without it', async () => {
    const { browser } = await signIn(harness);
    const plain = await home(harness, browser);
    assert.equal((await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrfOf(plain) } })).status, 303);
    const withNotice = await home(harness, browser);
    assert.match(withNotice.body, /Microsoft Graph accepted the token/);
    const after = await home(harness, browser);
    assert.doesNotMatch(after.body, /Microsoft Graph accepted the token/);
    assert.equal(after.body, plain.body);
  });

  it('when a token for another resource is added, then listed, and when it is removed or expires in the database, then the page says so', async () => {
    const { browser } = await signIn(harness);
    assert.deepEqual(listedTokens(await home(harness, browser)), []);
    await askForToken(harness, browser, { resource: OUTLOOK });
    const listed = await home(harness, browser);
    assert.deepEqual(
      listedTokens(listed).map((token) => token.resource),
      [OUTLOOK],
    );
    assert.doesNotMatch(listed.body.match(/<article class="resource-token"[\s\S]*?<\/article>/)?.[0] ?? '', /\(expired\)/);

    await harness.database.prisma.resourceToken.updateMany({ data: { expiresAt: new Date(harness.clock.now() + 60_000) } });
    assert.equal((await home(harness, browser)).body.includes('(expired)'), false);
    harness.clock.advance(61_000);
    const expired = await home(harness, browser);
    assert.match(expired.body.match(/<article class="resource-token"[\s\S]*?<\/article>/)?.[0] ?? '', /\(expired\)/);

    await harness.database.prisma.resourceToken.deleteMany();
    assert.deepEqual(listedTokens(await home(harness, browser)), []);
  });
});
