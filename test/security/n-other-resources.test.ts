import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import { recordAdminConsentLink } from '../../src/auth/admin-consent.ts';
import { createPendingSignIn } from '../../src/auth/pending-sign-ins.ts';
import { reencryptTokens } from '../../src/tokens/key-rotation.ts';
import { createTokenCipher, keyIdOf, resourceTokenContext } from '../../src/tokens/token-cipher.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser, Page } from '../support/http-browser.ts';
import { startInstance } from '../support/instances.ts';
import { assertRejectPage, assertSignedOut, signIn, useHarness } from '../support/outcomes.ts';
import {
  answerAdminConsentPage,
  askForToken,
  csrfOf,
  listedTokens,
  resetProviderConsent,
  shownRefusal,
  signInForApi,
} from '../support/resource-pages.ts';
import { readGrantState, readResourceTokens, readStoredTokens } from '../support/stored-tokens.ts';

const OUTLOOK = 'https://outlook.office.com';
const ARM = 'https://management.azure.com';
const SHAREPOINT = 'https://contoso.sharepoint.com';
const DATAVERSE = 'https://contoso.crm.dynamics.com';
const STORAGE = 'https://storage.azure.com';

/** Polls a condition every 10 ms, for at most 10 s (a hung guard fails the test instead of hanging it). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The admin consent state the page's button started in this browser, and the answer URL Microsoft would send back. */
async function startAdminConsent(harness: Harness, browser: HttpBrowser, page: Page): Promise<URL> {
  const start = await browser.request(`${harness.baseUrl}/resources/admin-consent`, {
    form: { _csrf: csrfOf(page), scope: shownRefusal(page)!.adminConsentScope! },
  });
  assert.equal(start.status, 303);
  return new URL(start.location!);
}

/** Microsoft's success answer to an admin-consent URL, built as it builds it (v2-admin-consent), with `tenant` as given. */
function successAnswer(harness: Harness, adminConsentUrl: URL, tenant: string): string {
  const answer = new URL(`${harness.baseUrl}/connect/get_token`);
  answer.searchParams.set('admin_consent', 'True');
  answer.searchParams.set('tenant', tenant);
  answer.searchParams.set('scope', adminConsentUrl.searchParams.get('scope')!);
  answer.searchParams.set('state', adminConsentUrl.searchParams.get('state')!);
  return answer.href;
}

describe('N. tokens for other resources and consent (S57, S58)', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });
  beforeEach(async () => {
    harness.idp.setTokenRequestHook(null);
    resetProviderConsent(harness);
  });

  it('S57: when the scopes span two resources, or mix .default with named permissions of one, then the page refuses them before any request and names the resources', async () => {
    const { browser } = await signIn(harness);
    const before = await readGrantState(harness);
    const count = harness.idp.tokenRequestCount();
    const mixed = await askForToken(harness, browser, { scope: `openid ${OUTLOOK}/Mail.Read ${ARM}/user_impersonation` });
    assert.equal(shownRefusal(mixed)?.title, 'Ask for one resource at a time');
    assert.match(shownRefusal(mixed)!.text, new RegExp(`more than one resource \\(${OUTLOOK} and ${ARM}\\)`));
    assert.match(shownRefusal(mixed)!.text, /AADSTS28000/);
    const graphAndOutlook = await askForToken(harness, browser, { scope: `User.Read ${OUTLOOK}/Mail.Read` });
    assert.match(shownRefusal(graphAndOutlook)!.text, /https:\/\/graph\.microsoft\.com and https:\/\/outlook\.office\.com/);
    const defaultWithOthers = await askForToken(harness, browser, { scope: `${OUTLOOK}/.default ${OUTLOOK}/Mail.Read` });
    assert.match(shownRefusal(defaultWithOthers)!.text, /\.default asks for every permission/);
    assert.equal(harness.idp.tokenRequestCount(), count, 'no request reached Microsoft');
    assert.deepEqual(await readGrantState(harness), before);
  });

  it("S57: when tokens for other resources are stored, then each is sealed under its user and scope set: the dump holds none in plain text, and one moved to another resource's row does not open there", async () => {
    const { browser } = await signIn(harness);
    await askForToken(harness, browser, { resource: OUTLOOK });
    await askForToken(harness, browser, { scope: `${OUTLOOK}/Mail.Read` });
    await askForToken(harness, browser, { resource: `${ARM}/` });
    const stored = await readResourceTokens(harness);
    assert.equal(stored.length, 3, 'one entry per user + resource + scope set');
    const dump = await harness.database.dump();
    for (const token of stored) {
      assert.ok(!dump.includes(token.accessToken) && !dump.includes(token.accessToken.slice(20, 60)), 'no plain text');
      assert.match(token.row.accessToken, /^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\./);
    }

    // Outlook's .default ciphertext is written into ARM's row, as someone with the database could.
    const outlook = stored.find((token) => token.row.scopeKey === `${OUTLOOK} .default`)!;
    const arm = stored.find((token) => token.row.resource === ARM)!;
    await harness.database.prisma.resourceToken.update({ where: { id: arm.row.id }, data: { accessToken: outlook.row.accessToken } });
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(page.status, 200);
    const listed = listedTokens(page);
    assert.deepEqual(
      listed.map((token) => token.resource),
      [OUTLOOK, OUTLOOK],
      "the moved ciphertext does not open under ARM's scope set: ARM is not listed",
    );
    assert.ok(!listed.some((token) => token.resource === ARM && token.accessToken === outlook.accessToken));
    const count = harness.idp.tokenRequestCount();
    const again = await askForToken(harness, browser, { resource: `${ARM}/` });
    assert.equal(harness.idp.tokenRequestCount(), count + 1, 'an unreadable entry is fetched anew, not served');
    assert.equal(listedTokens(again).find((token) => token.resource === ARM)?.audience, ARM);
  });

  it('S57: when a stored token for another resource is not what the app writes (its type, its scopes naming another resource, its expiry), then the page lists the others, never a 500, and asking again fetches it anew', async () => {
    const { browser } = await signIn(harness);
    await askForToken(harness, browser, { resource: OUTLOOK });
    await askForToken(harness, browser, { resource: `${ARM}/` });
    await askForToken(harness, browser, { resource: STORAGE });
    // One row for each check, so that each check alone keeps its row off the page.
    const tampered = [
      `UPDATE "ResourceToken" SET "tokenType" = 'MAC' WHERE "resource" = '${ARM}'`,
      `UPDATE "ResourceToken" SET "requestedScopes" = '${ARM}/.default' WHERE "resource" = '${OUTLOOK}'`,
      // PostgreSQL's timestamp column cannot hold text; SQLite's can.
      harness.database.kind === 'sqlite'
        ? `UPDATE "ResourceToken" SET "expiresAt" = 'not a date' WHERE "resource" = '${STORAGE}'`
        : `DELETE FROM "ResourceToken" WHERE "resource" = '${STORAGE}'`,
    ];
    for (const statement of tampered) {
      await harness.database.execute(statement);
      const page = await browser.request(`${harness.baseUrl}/`);
      assert.equal(page.status, 200, statement);
      assert.match(page.body, /Signed in as Adele Vance/);
    }
    assert.deepEqual(listedTokens(await browser.request(`${harness.baseUrl}/`)), [], 'neither tampered row is shown');
    const count = harness.idp.tokenRequestCount();
    const again = await askForToken(harness, browser, { resource: OUTLOOK });
    assert.equal(harness.idp.tokenRequestCount(), count + 1, 'fetched anew, not served');
    assert.equal(listedTokens(again)[0]?.audience, OUTLOOK);
  });

  it('S57: when the encryption key rotates, then tokens for other resources are re-encrypted under the new key, still bound to their user and scope set; one no key opens is counted and left alone', async () => {
    const { browser } = await signIn(harness);
    await askForToken(harness, browser, { resource: OUTLOOK });
    await askForToken(harness, browser, { resource: `${ARM}/` });
    const before = await readResourceTokens(harness);
    const newKey = crypto.randomBytes(32);
    const report = await reencryptTokens(harness.database.handle, createTokenCipher([newKey, harness.config.tokenEncryptionKey]));
    assert.deepEqual(report.resourceTokens, { reencrypted: 2, unreadable: 0 });
    const user = await harness.database.prisma.user.findFirstOrThrow({ include: { resourceTokens: { orderBy: { scopeKey: 'asc' } } } });
    const onlyNewKey = createTokenCipher([newKey]);
    assert.deepEqual(
      user.resourceTokens.map((row) => onlyNewKey.open(row.accessToken, resourceTokenContext(user, row.scopeKey))),
      before.map((token) => token.accessToken),
    );
    assert.ok(user.resourceTokens.every((row) => row.accessToken.startsWith(`v1.${keyIdOf(newKey)}.`)));
    const again = await reencryptTokens(harness.database.handle, createTokenCipher([crypto.randomBytes(32)]));
    assert.deepEqual(again.resourceTokens, { reencrypted: 0, unreadable: 2 });
    assert.equal(await harness.database.prisma.resourceToken.count(), 2, 'counted, not destroyed');
  });

  it('S57: when two resources are fetched at the same moment on two instances, then the one refresh token is redeemed by one at a time, never sent twice, and the newest is kept and works', async () => {
    const { browser } = await signIn(harness);
    const userId = (await harness.database.prisma.user.findFirstOrThrow()).id;
    const other = await startInstance(harness);
    try {
      const csrf = csrfOf(await browser.request(`${harness.baseUrl}/`));
      const requestsBefore = harness.idp.tokenRequestCount();
      let arrived = 0;
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The first redemption is held at the provider until the other instance has tried to take the user's lease
      // (with the guard) or has sent its own redemption (without it).
      harness.idp.setTokenRequestHook(() => {
        arrived += 1;
        return arrived === 1 ? released : undefined;
      });
      const here = browser.request(`${harness.baseUrl}/resources`, { form: { _csrf: csrf, resource: OUTLOOK } });
      await until(() => arrived === 1, 'the first redemption reaches the provider');
      const seen = other.statements.length;
      const there = browser.request(`${other.baseUrl}/resources`, { form: { _csrf: csrf, resource: `${ARM}/` } });
      await until(
        () => arrived >= 2 || other.statements.slice(seen).some((sql) => /UPDATE\W+(?:\w+\W+)?TokenSet\W/i.test(sql)),
        'the other instance tries the lease or redeems',
      );
      release();
      const [first, second] = await Promise.all([here, there]);
      harness.idp.setTokenRequestHook(null);
      assert.equal(first.status, 303);
      assert.equal(second.status, 303);

      assert.equal(harness.idp.refreshTokenReuseCount(), 0, 'no refresh token was sent twice');
      assert.equal(harness.idp.tokenRequestCount(), requestsBefore + 2, 'one redemption per resource');
      assert.deepEqual(
        (await readResourceTokens(harness)).map((token) => token.row.resource),
        [ARM, OUTLOOK],
      );
      // The stored refresh token is the newest: redeeming it is no reuse, and works.
      await harness.app.tokenService.getFreshTokens(userId, { force: true });
      assert.equal(harness.idp.tokenRequests.at(-1)!.status, 200);
      assert.equal(harness.idp.refreshTokenReuseCount(), 0);
      assert.equal((await readStoredTokens(harness)).row.refreshLeaseUntil, null, 'the lease is given back');
    } finally {
      harness.idp.setTokenRequestHook(null);
      await other.close();
    }
  });

  it('S57: when tokens for other resources are got, refused, signed in for and consented to, then no token is in any URL the app sends the browser to or in its logs', async () => {
    const { browser } = await signIn(harness);
    const logStart = harness.logs.length;
    const locations: string[] = [];
    const keep = (page: Page) => {
      if (page.location !== undefined) locations.push(page.location);
      return page;
    };
    const home = await browser.request(`${harness.baseUrl}/`);
    keep(await browser.request(`${harness.baseUrl}/resources`, { form: { _csrf: csrfOf(home), resource: OUTLOOK } }));
    keep(await browser.request(`${harness.baseUrl}/resources`, { form: { _csrf: csrfOf(home), resource: SHAREPOINT } }));
    const refused = await browser.request(`${harness.baseUrl}/`);
    const { authorizationUrl, callbackUrl } = await signInForApi(harness, browser, refused, harness.idp.accounts[0]!);
    locations.push(authorizationUrl.href);
    keep(await browser.request(callbackUrl));
    keep(await browser.request(`${harness.baseUrl}/resources`, { form: { _csrf: csrfOf(home), resource: DATAVERSE } }));
    const adminConsentUrl = await startAdminConsent(harness, browser, await browser.request(`${harness.baseUrl}/`));
    locations.push(adminConsentUrl.href);
    const admin = harness.idp.accounts.find((account) => account.username === 'megan@contoso.test')!;
    keep(await browser.request(await answerAdminConsentPage(browser, adminConsentUrl.href, admin, 'accept')));

    const tokens = [
      ...(await readResourceTokens(harness)).map((token) => token.accessToken),
      (await readStoredTokens(harness)).accessToken,
      (await readStoredTokens(harness)).refreshToken,
    ];
    assert.equal(tokens.length, 4);
    const secrets = [...tokens, ...harness.idp.issuedSecrets.filter((secret) => secret.length >= 20)];
    for (const location of locations) {
      assert.deepEqual(
        secrets.filter((secret) => location.includes(secret)).map((secret) => secret.slice(0, 8)),
        [],
        `no token in ${location.slice(0, 80)}`,
      );
    }
    const logText = harness.logs.slice(logStart).join('');
    assert.deepEqual(
      secrets.filter((secret) => logText.includes(secret)).map((secret) => secret.slice(0, 8)),
      [],
      'no token in the logs',
    );
    assert.doesNotMatch(logText, /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, 'no JWT of any kind');
  });

  for (const [route, form] of [
    ['/resources', { resource: OUTLOOK }],
    ['/resources/sign-in', { scope: `${SHAREPOINT}/.default` }],
    ['/resources/admin-consent', { scope: `${SHAREPOINT}/.default` }],
  ] as const) {
    it(`S58: when ${route} comes as GET, or as a POST without this session's CSRF token or with another's, then 403 or 405 and nothing happens`, async () => {
      const { browser } = await signIn(harness);
      const other = await signIn(harness, harness.idp.accounts[1]);
      const othersCsrf = csrfOf(await other.browser.request(`${harness.baseUrl}/`));
      const tokenSets = await harness.database.prisma.tokenSet.findMany({ orderBy: { userId: 'asc' } });
      const count = harness.idp.tokenRequestCount();
      const sessionsBefore = (await harness.database.prisma.session.findMany()).map((row) => row.data).sort();
      assert.equal((await browser.request(`${harness.baseUrl}${route}?${new URLSearchParams(form)}`)).status, 405);
      for (const csrf of [undefined, othersCsrf, 'x'.repeat(43)]) {
        const answer = await browser.request(`${harness.baseUrl}${route}`, { form: csrf === undefined ? form : { ...form, _csrf: csrf } });
        assert.equal(answer.status, 403, `${route} with ${csrf === undefined ? 'no' : 'a wrong'} CSRF token`);
        assert.equal(answer.location, undefined, 'not sent to Microsoft');
      }
      assert.equal(harness.idp.tokenRequestCount(), count);
      assert.equal(await harness.database.prisma.resourceToken.count(), 0);
      assert.deepEqual(
        (await harness.database.prisma.session.findMany()).map((row) => row.data).sort(),
        sessionsBefore,
        'no pending sign-in or admin consent was added to any session',
      );
      assert.deepEqual(await harness.database.prisma.tokenSet.findMany({ orderBy: { userId: 'asc' } }), tokenSets);
    });
  }

  it('S58: when the callback of a sign-in for an API is loaded twice, or delivered to another browser, then REJECT, the token endpoint is called once, and nothing is stored for anyone', async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: SHAREPOINT });
    const before = await readGrantState(harness);
    const { callbackUrl } = await signInForApi(harness, browser, refused, harness.idp.accounts[0]!);
    // Another browser (signed in as someone else) gets the callback first: its session holds no such state.
    const victim = await signIn(harness, harness.idp.accounts[1]);
    const count = harness.idp.tokenRequestCount();
    assertRejectPage(await victim.browser.request(callbackUrl));
    assert.equal(harness.idp.tokenRequestCount(), count, 'REJECT before the token endpoint');
    assert.equal(listedTokens(await victim.browser.request(`${harness.baseUrl}/`)).length, 0);
    assert.deepEqual(await readGrantState(harness), before);

    assert.equal((await browser.request(callbackUrl)).status, 303, 'the browser that started it finishes it');
    assertRejectPage(await browser.request(callbackUrl));
    assert.equal(harness.idp.tokenRequestCount(), count + 1, 'the code was redeemed once');
  });

  it('S58: when another account signs in for the API, then its tokens are stored for nobody: the signed-in user keeps theirs', async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: SHAREPOINT });
    const before = await readGrantState(harness);
    const { callbackUrl } = await signInForApi(harness, browser, refused, harness.idp.accounts[1]!);
    const callback = await browser.request(callbackUrl);
    assert.equal(callback.status, 403);
    assert.match(callback.body, /You signed in as someone else/);
    assert.deepEqual(await readGrantState(harness), before);
    assert.equal(await harness.database.prisma.user.count(), 1);
    assert.equal(await harness.database.prisma.resourceToken.count(), 0);
  });

  it('S58: when an admin-consent answer has no state, a forged one, one of another browser, or comes a second time, then REJECT and nothing happens', async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const adminConsentUrl = await startAdminConsent(harness, browser, refused);
    const genuine = new URL(successAnswer(harness, adminConsentUrl, harness.idp.tenantId));
    const before = await readGrantState(harness);

    const noState = new URL(genuine);
    noState.searchParams.delete('state');
    assertRejectPage(await browser.request(noState.href));
    for (const forged of ['forged', createPendingSignIn(Date.now()).state, `${genuine.searchParams.get('state')}x`]) {
      const answer = new URL(genuine);
      answer.searchParams.set('state', forged);
      assertRejectPage(await browser.request(answer.href));
    }
    const otherBrowser = harness.browser();
    assertRejectPage(await otherBrowser.request(genuine.href));
    await assertSignedOut(harness, otherBrowser);

    const first = await browser.request(genuine.href);
    assert.equal(first.status, 200);
    assert.match(first.body, /Admin consent granted/);
    assertRejectPage(await browser.request(genuine.href));
    assert.deepEqual(await readGrantState(harness), before, 'an answer stores nothing');
  });

  it('S58: when an admin-consent answer comes more than 10 minutes after it was started, then REJECT', async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const adminConsentUrl = await startAdminConsent(harness, browser, refused);
    harness.clock.advance(10 * 60 * 1000 + 1000);
    assertRejectPage(await browser.request(successAnswer(harness, adminConsentUrl, harness.idp.tenantId)));
  });

  it("S58: when an admin-consent answer names another tenant, then the app never uses it: the page names the user's own tenant, nobody is signed in, and nothing is stored", async () => {
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const adminConsentUrl = await startAdminConsent(harness, browser, refused);
    const before = await readGrantState(harness);
    const attackersTenant = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    const answer = await browser.request(successAnswer(harness, adminConsentUrl, attackersTenant));
    assert.equal(answer.status, 200);
    assert.match(answer.body, new RegExp(`tenant <code>${harness.idp.tenantId}</code>`));
    assert.ok(!answer.body.includes(attackersTenant), 'the answer’s tenant is not shown as the consenting one');
    assert.deepEqual(await readGrantState(harness), before);
    assert.equal(await harness.database.prisma.user.count(), 1, 'nobody new');
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as Adele Vance/, 'the same user, no one else');
  });

  it('S58: when O365_TENANT is common, then admin consent goes to the signed-in user’s own tenant id, never common', async () => {
    assert.equal(harness.config.tenant, 'common');
    const { browser } = await signIn(harness);
    const refused = await askForToken(harness, browser, { resource: DATAVERSE });
    const adminConsentUrl = await startAdminConsent(harness, browser, refused);
    assert.equal(adminConsentUrl.origin, harness.idp.origin);
    assert.equal(adminConsentUrl.pathname, `/${harness.idp.tenantId}/v2.0/adminconsent`);
    assert.equal(adminConsentUrl.searchParams.get('redirect_uri'), `${harness.baseUrl}/connect/get_token`);
    assert.equal(adminConsentUrl.searchParams.get('client_id'), harness.config.appId);
    assert.match(adminConsentUrl.searchParams.get('state')!, /^[A-Za-z0-9_-]{43}$/);
  });

  it("S58: when an administrator opens the link npm run token printed in their own browser, then the answer is accepted once (its state is in the database), names the user's tenant, and signs nobody in", async () => {
    await signIn(harness);
    const user = await harness.database.prisma.user.findFirstOrThrow();
    const state = await recordAdminConsentLink(
      harness.database.handle.sql,
      { userId: user.id, tenantId: user.tenantId, scopes: [`${DATAVERSE}/.default`] },
      new Date(harness.clock.now()),
    );
    assert.equal(await harness.database.prisma.adminConsentRequest.count(), 1);
    const stored = await harness.database.prisma.adminConsentRequest.findFirstOrThrow();
    assert.ok(!JSON.stringify(stored).includes(state), 'only a hash of the state is stored');
    const link = new URL(`${harness.idp.origin}/${user.tenantId}/v2.0/adminconsent`);
    link.searchParams.set('scope', `${DATAVERSE}/.default`);
    link.searchParams.set('state', state);
    const adminsBrowser = harness.browser();
    const answer = await adminsBrowser.request(successAnswer(harness, link, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'));
    assert.equal(answer.status, 200);
    assert.match(answer.body, new RegExp(`tenant <code>${user.tenantId}</code>`));
    assert.match(answer.body, /Run the command again/);
    await assertSignedOut(harness, adminsBrowser);
    assertRejectPage(await adminsBrowser.request(successAnswer(harness, link, user.tenantId)));
    assert.equal(await harness.database.prisma.adminConsentRequest.count(), 0, 'used up');
  });
});
