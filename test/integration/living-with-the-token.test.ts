import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { readStoredTokens as storedTokens } from '../support/stored-tokens.ts';
import { resetHarness, useHarness } from '../support/outcomes.ts';

/** Signs in a new browser and returns it with the page's CSRF token. */
async function signIn(
  harness: Harness,
  account = harness.idp.accounts[0]!,
): Promise<{ browser: HttpBrowser; csrf: string; userId: string }> {
  const browser = harness.browser();
  const callback = await browser.request(await harness.authorize(browser, account));
  assert.equal(callback.status, 303);
  const home = await browser.request(`${harness.baseUrl}/`);
  const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  assert.ok(csrf, 'the signed-in page has forms with a CSRF token');
  const user = await harness.database.prisma.user.findFirstOrThrow({ where: { objectId: account.objectId } });
  return { browser, csrf, userId: user.id };
}

function shownToken(body: string): string | undefined {
  return body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
}

describe('refresh, with access tokens that live two minutes (inside the five-minute margin)', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ accessTokenTtlSeconds: 120 });
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await resetHarness(harness);
  });

  it('when the page needs a token that expires within five minutes, then it is refreshed, the rotated refresh token is stored and the page shows the new token', async () => {
    const { browser } = await signIn(harness);
    const before = await storedTokens(harness);
    const page = await browser.request(`${harness.baseUrl}/`);
    const after = await storedTokens(harness);
    assert.notEqual(after.accessToken, before.accessToken);
    assert.equal(shownToken(page.body), after.accessToken);
    assert.equal(after.accessToken, harness.idp.issuedAccessTokens.at(-1));
    assert.notEqual(after.refreshToken, before.refreshToken, 'the rotated refresh token replaced the old one');
    assert.ok(after.row.expiresAt > before.row.expiresAt);
  });

  it('when "Refresh now" is pressed, then a new token is stored and the page says so', async () => {
    const { browser, csrf } = await signIn(harness);
    const count = harness.idp.tokenRequestCount();
    const response = await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } });
    assert.equal(response.status, 303);
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /Token refreshed/);
    assert.equal(shownToken(page.body), (await storedTokens(harness)).accessToken);
  });

  it('when "Refresh now" is posted without the CSRF token, then 403 and nothing is refreshed', async () => {
    const { browser } = await signIn(harness);
    const count = harness.idp.tokenRequestCount();
    assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: 'forged' } })).status, 403);
    assert.equal(harness.idp.tokenRequestCount(), count);
  });

  it('when the person signs in again after invalid_grant, then the token works again', async () => {
    await signIn(harness);
    await harness.database.prisma.tokenSet.updateMany({ data: { needsSignIn: true } });
    const { browser } = await signIn(harness);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.doesNotMatch(page.body, /no longer accepts the stored refresh token/);
    assert.equal((await harness.database.prisma.tokenSet.findFirstOrThrow()).needsSignIn, false);
  });
});

describe('the token panel, Graph check, sign-out and forget', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when signed in, then the page offers the copy variants, the decoded JWT claims, the scopes and every action by its exact label', async () => {
    const { browser } = await signIn(harness);
    const page = await browser.request(`${harness.baseUrl}/`);
    for (const label of [
      '>Copy<',
      'Copy as <code>Authorization: Bearer &hellip;</code> header',
      'Copy as curl for <code>GET /v1.0/me</code>',
      '>Refresh now<',
      '>Check with Microsoft Graph<',
      '>Sign out<',
      '>Sign out of Microsoft too<',
      '>Forget my token<',
    ]) {
      assert.ok(page.body.includes(label), label);
    }
    const token = harness.idp.issuedAccessTokens.at(-1)!;
    const curl = `curl -H 'Authorization: Bearer ${token}' '${harness.config.graphBaseUrl}/v1.0/me'`;
    assert.ok(page.body.includes(`data-copy-text="${curl.replaceAll("'", '&#39;')}"`), 'the curl line, each argument quoted');
    assert.match(page.body, /Decoded access token/);
    assert.match(page.body, /<code>scp<\/code><\/th><td><code>[^<]*User\.Read/);
    assert.match(page.body, /<code>aud<\/code>/);
    assert.match(page.body, /<code>exp<\/code><\/th><td><code>\d+<\/code> <span class="readable">\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/);
    assert.match(page.body, /Decoded ID token/);
    assert.match(page.body, /<li>User\.Read<\/li>/);
  });

  it('when "Check with Microsoft Graph" is pressed, then the page shows display name, mail and user principal name', async () => {
    const account = harness.idp.accounts[1]!;
    const { browser, csrf } = await signIn(harness, account);
    assert.equal((await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } })).status, 303);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /Microsoft Graph accepted the token/);
    assert.ok(page.body.includes(account.displayName));
    assert.ok(page.body.includes(`<dd>${account.username}</dd>`));
  });

  it('when Graph answers 401 to a token that looks valid, then the app refreshes once and retries', async () => {
    const { browser, csrf } = await signIn(harness);
    const { seal } = await storedTokens(harness);
    await harness.database.prisma.tokenSet.updateMany({ data: { accessToken: seal('accessToken', 'eyJ.revoked.token') } });
    const count = harness.idp.tokenRequestCount();
    await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } });
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /Microsoft Graph accepted the token/);
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
  });

  it('when Graph cannot be reached, then the page says so instead of failing', async () => {
    const graphDown = await startHarness({ env: { GRAPH_BASE_URL: 'http://127.0.0.1:9' } });
    try {
      const { browser, csrf } = await signIn(graphDown);
      assert.equal((await browser.request(`${graphDown.baseUrl}/graph-check`, { form: { _csrf: csrf } })).status, 303);
      const page = await browser.request(`${graphDown.baseUrl}/`);
      assert.match(page.body, /Microsoft Graph refused the request/);
      assert.match(page.body, /NetworkError/);
    } finally {
      await graphDown.close();
    }
  });

  it('when "Sign out" is pressed, then the session row is gone, the token stays stored, and the page confirms it', async () => {
    const { browser, csrf } = await signIn(harness);
    const response = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } });
    assert.equal(response.status, 303);
    assert.equal(response.location, `${harness.baseUrl}/`);
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
    assert.equal(await harness.database.prisma.tokenSet.count(), 1);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /You are signed out/);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Get a Microsoft 365 access token/);
    assert.doesNotMatch((await browser.request(`${harness.baseUrl}/`)).body, /You are signed out/, 'the notice shows once');
  });

  it('when "Sign out of Microsoft too" is pressed, then the session ends and the browser goes to the end-session endpoint with the post-logout URI and logout hint', async () => {
    const { browser, csrf } = await signIn(harness);
    const response = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf, microsoft: '1' } });
    assert.equal(response.status, 303);
    const target = new URL(response.location!);
    const metadata = await harness.app.discovery.getMetadata();
    assert.equal(`${target.origin}${target.pathname}`, metadata.endSessionEndpoint);
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `${harness.baseUrl}/`);
    assert.ok(target.searchParams.get('logout_hint'));
    assert.equal(target.searchParams.get('id_token_hint'), null, 'no token in a URL');
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
    const back = await browser.follow(response.location!, { stopAt: (url) => url.startsWith(harness.baseUrl) });
    const confirmed = back.location?.startsWith(harness.baseUrl) ? back : await confirmMicrosoftSignOut(browser, back, harness.baseUrl);
    assert.equal(confirmed.location, `${harness.baseUrl}/`);
    assert.match((await browser.request(confirmed.location)).body, /signed out of this app and of Microsoft/);
  });

  it('when "Forget my token" is pressed, then the user and token rows and the session are gone and the page confirms it', async () => {
    const { browser, csrf } = await signIn(harness);
    const response = await browser.request(`${harness.baseUrl}/forget`, { form: { _csrf: csrf } });
    assert.equal(response.status, 303);
    assert.equal(await harness.database.prisma.user.count(), 0);
    assert.equal(await harness.database.prisma.tokenSet.count(), 0);
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Your token is forgotten/);
  });

  it('when forget is posted by another site (no CSRF token), then 403 and nothing is deleted', async () => {
    const { browser } = await signIn(harness);
    assert.equal((await browser.request(`${harness.baseUrl}/forget`, { form: {} })).status, 403);
    assert.equal(await harness.database.prisma.tokenSet.count(), 1);
  });
});

describe('errors that teach', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('when the client secret is wrong (AADSTS7000215), then the page says so and where to create a new one', async () => {
    harness.idp.setFault('token-invalid-client');
    const browser = harness.browser();
    const page = await browser.request(await harness.authorize(browser));
    harness.idp.setFault(null);
    assert.equal(page.status, 502);
    assert.match(page.body, /<h1 id="error-heading">The app&#39;s client secret is wrong or expired<\/h1>/);
    assert.match(page.body, /Certificates &amp; secrets/);
    assert.match(page.body, /<summary>Technical details<\/summary>/);
    assert.match(page.body, /Timestamp<\/dt>/);
  });

  it('when the callback arrives without the session cookie, then the page says the cookie was lost and names the expected host', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const page = await getWithHost(callbackUrl, 'localhost:5999');
    assert.equal(page.status, 400);
    assert.match(page.body, /Your browser lost this app&#39;s session during sign-in/);
    assert.ok(page.body.includes(`Open the app at ${harness.baseUrl}/`));
    assert.ok(page.body.includes('This request came to localhost:5999'));
    assert.equal(await harness.database.prisma.user.count(), 0);
  });
});

/** A GET with another Host header (fetch may not set it), as when the browser opened the app under another name. */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host } }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function confirmMicrosoftSignOut(browser: HttpBrowser, page: { body: string; url: string }, baseUrl: string) {
  const action = page.body.match(/<form[^>]*action="([^"]+)"/)?.[1];
  assert.ok(action, `the provider's sign-out page has a form: ${page.body.slice(0, 200)}`);
  const fields: Record<string, string> = {};
  for (const input of page.body.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[input[1]!] = input[2]!;
  return browser.follow(new URL(action.replace(/&amp;/g, '&'), page.url).href, {
    form: { ...fields, logout: 'yes' },
    stopAt: (url) => url.startsWith(baseUrl),
  });
}

describe('when the token lacks the Graph permission', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { O365_SCOPES: 'openid profile offline_access' } });
  });
  after(async () => {
    await harness.close();
  });

  it('then "Check with Microsoft Graph" shows Graph\'s status, code and message', async () => {
    const { browser, csrf } = await signIn(harness);
    await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } });
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /Microsoft Graph refused the request/);
    assert.match(page.body, /<dt>Status<\/dt><dd>403<\/dd>/);
    assert.match(page.body, /<dt>Code<\/dt><dd><code>[A-Za-z_]+<\/code>/);
  });
});
