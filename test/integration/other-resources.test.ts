import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { resetHarness, signIn, useHarness } from '../support/outcomes.ts';
import {
  answerAdminConsent,
  askForToken,
  claimsOf,
  csrfOf,
  listedTokens,
  MFA_API,
  RESOURCES_WITH_MFA_API,
  resetProviderConsent,
  shownRefusal,
  signInForApi,
} from '../support/resource-pages.ts';
import { readGrantState, readResourceTokens, readStoredTokens } from '../support/stored-tokens.ts';

const kind = testDatabaseKind();
const OUTLOOK = 'https://outlook.office.com';
const ARM = 'https://management.azure.com';
const SHAREPOINT = 'https://contoso.sharepoint.com';
const DATAVERSE = 'https://contoso.crm.dynamics.com';

/** Every stored token for another resource now expires within the five-minute refresh margin. */
async function expireSoon(harness: Harness): Promise<void> {
  await harness.database.prisma.resourceToken.updateMany({ data: { expiresAt: new Date(harness.clock.now() + 60_000) } });
}

describe(`tokens for other APIs on the page (${kind})`, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      resources: [...RESOURCES_WITH_MFA_API],
    });
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await resetHarness(harness);
    resetProviderConsent(harness);
  });

  it('when a signed-in person asks for Outlook and Azure Resource Manager, then each is listed with its own aud and scopes, the default token is unchanged, and no refresh token is sent twice', async () => {
    const { browser } = await signIn(harness);
    const before = await readStoredTokens(harness);
    await askForToken(harness, browser, { resource: OUTLOOK });
    const page = await askForToken(harness, browser, { resource: `${ARM}/` });
    assert.equal(page.status, 200);
    assert.equal(shownRefusal(page), undefined);

    const listed = listedTokens(page);
    assert.deepEqual(
      listed.map((token) => [token.resource, token.audience]),
      [
        [ARM, ARM],
        [OUTLOOK, OUTLOOK],
      ],
    );
    for (const token of listed) {
      assert.ok(harness.idp.issuedAccessTokens.includes(token.accessToken), 'the token the provider issued');
      assert.equal(claimsOf(token.accessToken).aud, token.resource);
    }
    assert.deepEqual(listed[0]!.scopes, [`${ARM}/user_impersonation`]);
    assert.match(
      listed[0]!.curlLine ?? '',
      /^curl -H 'Authorization: Bearer [^']+' 'https:\/\/management\.azure\.com\/subscriptions\?api-version=2022-12-01'$/,
    );
    assert.equal(listed[1]!.curlLine, undefined, "Outlook's REST API is retired: no curl line");
    assert.match(page.body, /Outlook&#39;s REST API was retired in March 2024/);

    const [outlook, arm] = harness.idp.tokenRequests.slice(-2);
    assert.equal(outlook!.scope, `openid profile offline_access ${OUTLOOK}/.default`);
    assert.equal(arm!.scope, `openid profile offline_access ${ARM}//.default`, "ARM's .default with the documented double slash");

    const after = await readStoredTokens(harness);
    assert.equal(after.accessToken, before.accessToken, 'the default token is its own entry');
    assert.notEqual(after.refreshToken, before.refreshToken, 'the newest (rotated) refresh token is kept');
    assert.equal(harness.idp.refreshTokenReuseCount(), 0);
    assert.match(page.body, /<h2 id="access-heading">Access token for Microsoft Graph<\/h2>/);
  });

  it('when a resource is asked for again while its token is valid, then it comes from the store without a token request; when it expires within five minutes, a new one is redeemed', async () => {
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 303, callback.body);
    await askForToken(harness, browser, { resource: OUTLOOK });
    const [first] = listedTokens(await browser.request(`${harness.baseUrl}/`));
    const count = harness.idp.tokenRequestCount();

    const again = await askForToken(harness, browser, { scope: `${OUTLOOK}/.default openid` });
    assert.equal(harness.idp.tokenRequestCount(), count, 'served from the store');
    assert.match(again.body, /still valid, so it came from the app&#39;s store without asking Microsoft/);
    assert.equal(listedTokens(again)[0]!.accessToken, first!.accessToken);

    await expireSoon(harness);
    const later = await askForToken(harness, browser, { resource: OUTLOOK });
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.notEqual(listedTokens(later)[0]!.accessToken, first!.accessToken);
    assert.match(later.body, /Microsoft issued it just now/);

    const renewed = await askForToken(harness, browser, { scope: `${OUTLOOK}/.default`, renew: '1' });
    assert.equal(harness.idp.tokenRequestCount(), count + 2, '"Get a new one now" asks Microsoft even for a valid token');
    assert.notEqual(listedTokens(renewed)[0]!.accessToken, listedTokens(later)[0]!.accessToken);
    assert.equal((await readResourceTokens(harness)).length, 1, 'one entry per resource and scopes');
  });

  it('when the scopes are the default ones (User.Read), then the answer is the stored default token, not another entry', async () => {
    const { browser } = await signIn(harness);
    const count = harness.idp.tokenRequestCount();
    const page = await askForToken(harness, browser, { scope: 'https://graph.microsoft.com/User.Read openid' });
    assert.equal(harness.idp.tokenRequestCount(), count);
    assert.deepEqual(listedTokens(page), []);
    assert.equal(await harness.database.prisma.resourceToken.count(), 0);
  });

  it('when a resource has no consent (SharePoint), then the page explains AADSTS65001 with Sign in for this API and admin consent, and nothing is written', async () => {
    const { browser } = await signIn(harness);
    const before = await readGrantState(harness);
    const page = await askForToken(harness, browser, { resource: SHAREPOINT });
    const refusal = shownRefusal(page);
    assert.equal(refusal?.title, 'Consent is needed for this API');
    assert.equal(refusal.aadsts, '65001');
    assert.equal(refusal.signInScope, `${SHAREPOINT}/.default`);
    assert.equal(refusal.adminConsentScope, `${SHAREPOINT}/.default`);
    assert.match(refusal.text, /has not consented to use the application/);
    assert.deepEqual(await readGrantState(harness), before, 'the grant is untouched and no token stored');
    assert.equal(harness.idp.refreshTokenReuseCount(), 0);
    // The refusal is shown once; the grant still serves other resources.
    assert.equal(shownRefusal(await browser.request(`${harness.baseUrl}/`)), undefined);
    assert.equal(listedTokens(await askForToken(harness, browser, { resource: OUTLOOK })).length, 1);
  });

  it('when the person uses Sign in for this API, then Microsoft is asked for exactly those scopes as that user, and the token is stored for that resource', async () => {
    const { browser } = await signIn(harness);
    const account = harness.idp.accounts[0]!;
    const refused = await askForToken(harness, browser, { resource: SHAREPOINT });
    const { authorizationUrl, callbackUrl } = await signInForApi(harness, browser, refused, account);
    assert.equal(authorizationUrl.searchParams.get('scope'), `openid profile offline_access ${SHAREPOINT}/.default`);
    assert.equal(authorizationUrl.searchParams.get('login_hint'), account.username);
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizationUrl.searchParams.get('claims'), null);

    const callback = await browser.request(callbackUrl);
    assert.equal(callback.status, 303, callback.body.slice(0, 300));
    assert.equal(callback.location, `${harness.baseUrl}/`);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.match(page.body, /Signed in as Adele Vance/);
    const [listed] = listedTokens(page);
    assert.equal(listed?.audience, SHAREPOINT);
    assert.equal(claimsOf(listed.accessToken).scp, 'AllSites.Read');
    assert.match(
      listed.curlLine ?? '',
      /-H 'Accept: application\/json;odata=nometadata' 'https:\/\/contoso\.sharepoint\.com\/_api\/web\?\$select=Title,Url'$/,
    );
    assert.equal(
      harness.idp.tokenRequests.at(-1)!.scope,
      `openid profile offline_access ${SHAREPOINT}/.default`,
      'the code redeemed for them',
    );

    const count = harness.idp.tokenRequestCount();
    await askForToken(harness, browser, { resource: SHAREPOINT });
    assert.equal(harness.idp.tokenRequestCount(), count, 'the next ask comes from the store');
    await expireSoon(harness);
    await askForToken(harness, browser, { resource: SHAREPOINT });
    assert.equal(harness.idp.tokenRequests.at(-1)!.status, 200, "the consent recorded by the sign-in serves the sign-in's refresh token");
    assert.equal(harness.idp.refreshTokenReuseCount(), 0);
  });

  it('when an administrator grants consent on the admin-consent page, then the answer page names the tenant and scopes the app asked for, and the token then comes', async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const admin = harness.idp.accounts.find((account) => account.username === 'megan@contoso.test')!;
    const { adminConsentUrl, answerUrl } = await answerAdminConsent(harness, browser, refused, admin, 'accept');
    assert.equal(adminConsentUrl.pathname, `/${harness.idp.tenantId}/v2.0/adminconsent`);
    assert.equal(adminConsentUrl.searchParams.get('redirect_uri'), `${harness.baseUrl}/connect/get_token`);
    assert.equal(adminConsentUrl.searchParams.get('scope'), `${DATAVERSE}/.default`);

    const answer = await browser.request(answerUrl);
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
    assert.match(answer.body, /Admin consent granted/);
    assert.match(answer.body, new RegExp(`tenant <code>${harness.idp.tenantId}</code>`));
    assert.deepEqual(harness.idp.adminConsents.at(-1), {
      tenant: harness.idp.tenantId,
      clientId: harness.config.appId,
      scope: `${DATAVERSE}/.default`,
    });

    const form = { _csrf: csrfOf(answer), scope: answer.body.match(/name="scope" value="([^"]+)"/)![1]! };
    assert.equal((await browser.request(`${harness.baseUrl}/resources`, { form })).status, 303, 'Get the token now');
    const [listed] = listedTokens(await browser.request(`${harness.baseUrl}/`));
    assert.equal(listed?.audience, DATAVERSE);
    assert.match(listed.curlLine ?? '', /'https:\/\/contoso\.crm\.dynamics\.com\/api\/data\/v9\.2\/WhoAmI'$/);
    assert.equal((await browser.request(answerUrl)).status, 400, 'the answer is one-time');
  });

  it('when the administrator cancels, then the page says admin consent was not granted, with AADSTS65004, and nothing changes', async () => {
    const { browser } = await signIn(harness);
    const before = await readGrantState(harness);
    const consents = harness.idp.adminConsents.length;
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const admin = harness.idp.accounts.find((account) => account.username === 'megan@contoso.test')!;
    const { answerUrl } = await answerAdminConsent(harness, browser, refused, admin, 'cancel');
    const answer = await browser.request(answerUrl);
    assert.equal(answer.status, 403);
    assert.match(answer.body, /AADSTS65004/);
    assert.equal(harness.idp.adminConsents.length, consents);
    assert.deepEqual(await readGrantState(harness), before);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as Adele Vance/, 'still signed in');
  });

  it('when a resource asks for multifactor authentication (AADSTS50076), then Sign in for this API passes its claims challenge on, and the token then comes', async () => {
    const { browser } = await signIn(harness);
    const before = await readGrantState(harness);
    const refused = await askForToken(harness, browser, { scope: `${MFA_API}/Read` });
    const refusal = shownRefusal(refused);
    assert.equal(refusal?.title, 'Microsoft wants you to sign in again for this API');
    assert.equal(refusal.aadsts, '50076');
    assert.ok(refusal.claims !== undefined, 'the claims challenge is carried by the form');
    assert.equal(refusal.adminConsentScope, undefined, 'no admin consent for an MFA challenge');
    assert.deepEqual(await readGrantState(harness), before);

    const { authorizationUrl, callbackUrl } = await signInForApi(harness, browser, refused, harness.idp.accounts[0]!);
    assert.deepEqual(JSON.parse(authorizationUrl.searchParams.get('claims')!), JSON.parse(refusal.claims));
    assert.equal((await browser.request(callbackUrl)).status, 303);
    const [listed] = listedTokens(await browser.request(`${harness.baseUrl}/`));
    assert.equal(listed?.audience, MFA_API);
  });

  it('when a person uses Forget my token, then the tokens for other APIs go too; Sign out keeps them', async () => {
    const { browser } = await signIn(harness);
    const page = await askForToken(harness, browser, { resource: OUTLOOK });
    assert.equal((await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrfOf(page) } })).status, 303);
    assert.equal(await harness.database.prisma.resourceToken.count(), 1, 'sign-out keeps them, as the default token');
    const { browser: again } = await signIn(harness);
    const home = await again.request(`${harness.baseUrl}/`);
    assert.equal(listedTokens(home).length, 1);
    assert.equal((await again.request(`${harness.baseUrl}/forget`, { form: { _csrf: csrfOf(home) } })).status, 303);
    assert.equal(await harness.database.prisma.resourceToken.count(), 0);
  });
});

describe(`tokens for other APIs with a personal Microsoft account (${kind})`, () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });
  beforeEach(async () => {
    resetProviderConsent(harness);
  });
  const personal = () => harness.idp.accounts.find((account) => account.tenantId === '9188040d-6c67-4c5b-b112-36a304b66dad')!;

  it("when a personal account asks for Azure Resource Manager, then Microsoft's AADSTS70011 and the fix (a work or school account) are shown, without admin consent", async () => {
    const { browser, callback } = await signIn(harness, personal());
    assert.equal(callback.status, 303);
    const before = await readGrantState(harness);
    const page = await askForToken(harness, browser, { resource: `${ARM}/` });
    const refusal = shownRefusal(page);
    assert.equal(refusal?.title, 'Microsoft does not issue this token');
    assert.equal(refusal.aadsts, '70011');
    assert.match(refusal.text, /does not accept personal Microsoft accounts/);
    assert.equal(refusal.signInScope, undefined);
    assert.equal(refusal.adminConsentScope, undefined);
    assert.deepEqual(await readGrantState(harness), before);
    assert.equal(page.status, 200, 'never a 500');
  });

  it("when a personal account needs consent for Outlook (the home tenant's consent is not theirs), then Sign in for this API is offered, and no admin consent (personal accounts have no administrator)", async () => {
    const { browser } = await signIn(harness, personal());
    const page = await askForToken(harness, browser, { scope: `${OUTLOOK}/IMAP.AccessAsUser.All` });
    const refusal = shownRefusal(page);
    assert.equal(refusal?.aadsts, '65001');
    assert.equal(refusal.signInScope, `${OUTLOOK}/IMAP.AccessAsUser.All`);
    assert.equal(refusal.adminConsentScope, undefined);
    assert.match(refusal.text, /Personal Microsoft accounts have no administrator/);
    const forced = await browser.request(`${harness.baseUrl}/resources/admin-consent`, {
      form: { _csrf: csrfOf(page), scope: `${OUTLOOK}/IMAP.AccessAsUser.All` },
    });
    assert.equal(forced.status, 400);
    assert.match(forced.body, /Personal accounts have no administrator/);

    const { callbackUrl } = await signInForApi(harness, browser, page, personal());
    assert.equal((await browser.request(callbackUrl)).status, 303);
    const [listed] = listedTokens(await browser.request(`${harness.baseUrl}/`));
    assert.equal(listed?.resource, OUTLOOK);
    // Microsoft's tokens for personal accounts are opaque: the page says so instead of decoding.
    assert.equal(listed.audience, '(not a JWT: opaque)');
    assert.ok(harness.idp.issuedAccessTokens.includes(listed.accessToken));
  });
});
