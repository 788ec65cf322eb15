// The local identity provider's own behaviour for issue 16: tokens for other resources from one sign-in, consent,
// admin consent and the personal account, over real HTTP, asserted against Microsoft's documented and observed shapes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { DEFAULT_IDP_RESOURCES, startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp, TestAccount } from '../../dev/idp/index.ts';
import { HttpBrowser } from '../support/http-browser.ts';
import { readForm, signInAtProvider } from '../support/provider-sign-in.ts';

const CLIENT_ID = '0d6c7a52-1f0e-4b8d-a2c4-5e3f9b7a1c80';
const CLIENT_SECRET = 'local~idp~resources.test-secret';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const CONSUMERS = '9188040d-6c67-4c5b-b112-36a304b66dad';
const OUTLOOK = 'https://outlook.office.com';
const ARM = 'https://management.azure.com';
const SHAREPOINT = 'https://contoso.sharepoint.com';
const CUSTOM_API = 'api://b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f';
const MFA_API = 'https://mfa.contoso.test';
const SIGN_IN_SCOPE = 'openid profile offline_access User.Read';

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

describe('the local identity provider: tokens for other resources, consent and admin consent', () => {
  let idp: StartedIdp;
  let adele: TestAccount;
  let alex: TestAccount;
  let megan: TestAccount;
  let pat: TestAccount;

  before(async () => {
    idp = await startIdentityProvider({
      port: 0,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      resources: [...DEFAULT_IDP_RESOURCES, { identifier: MFA_API, scopes: ['Data.Read'], consent: 'tenant', requiresMfa: true }],
    });
    const byName = (name: string) => idp.accounts.find((account) => account.username.startsWith(`${name}@`))!;
    [adele, alex, megan, pat] = [byName('adele'), byName('alex'), byName('megan'), byName('pat')];
  });
  after(async () => {
    await idp.close();
  });
  beforeEach(() => {
    idp.revokeConsent();
    idp.setResourceConsent(OUTLOOK, 'tenant');
    idp.setResourceConsent(SHAREPOINT, 'none');
  });

  function authorizeUrl(scope: string, challenge: string, extra: Record<string, string> = {}, tenant = 'common'): string {
    const url = new URL(`${idp.origin}/${tenant}/oauth2/v2.0/authorize`);
    for (const [name, value] of Object.entries({
      client_id: CLIENT_ID,
      response_type: 'code',
      response_mode: 'query',
      redirect_uri: REDIRECT_URI,
      scope,
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    })) {
      url.searchParams.set(name, value);
    }
    return url.href;
  }

  async function postToken(form: Record<string, string>, secret = CLIENT_SECRET): Promise<TokenAnswer> {
    const response = await fetch(`${idp.origin}/common/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: secret, ...form }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Signs in at the provider as a browser would and redeems the code with the same scope; returns the token answer. */
  async function signIn(account: TestAccount, scope = SIGN_IN_SCOPE, extra: Record<string, string> = {}): Promise<TokenAnswer> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const callback = await signInAtProvider(
      new HttpBrowser(),
      authorizeUrl(scope, challenge, extra),
      (url) => url.startsWith(REDIRECT_URI),
      account,
    );
    const code = new URL(callback).searchParams.get('code');
    assert.ok(code, `the provider answered ${callback}`);
    return postToken({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, scope });
  }

  async function refreshTokenOf(account: TestAccount, scope = SIGN_IN_SCOPE): Promise<string> {
    const answer = await signIn(account, scope);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return String(answer.body.refresh_token);
  }

  function refresh(refreshToken: string, scope: string, secret?: string): Promise<TokenAnswer> {
    return postToken({ grant_type: 'refresh_token', refresh_token: refreshToken, scope }, secret);
  }

  function assertMicrosoftError(answer: TokenAnswer, status: number, error: string, code: number, text: string): void {
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.equal(answer.body.error, error);
    assert.deepEqual(answer.body.error_codes, [code]);
    const description = String(answer.body.error_description);
    assert.ok(description.startsWith(`AADSTS${code}: ${text}\r\nTrace ID: `), description);
    assert.match(description, /\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.equal(typeof answer.body.trace_id, 'string');
    assert.equal(typeof answer.body.correlation_id, 'string');
    assert.equal(answer.body.error_uri, `https://login.microsoftonline.com/error?code=${code}`);
  }

  describe('refresh_token grant with another resource’s scopes', () => {
    it('when a Graph refresh token asks for an Outlook scope, then the token’s aud is Outlook, scp its permission, and the new refresh token still serves Graph', async () => {
      const first = await refreshTokenOf(adele);
      const answer = await refresh(first, `${OUTLOOK}/Mail.Read openid profile offline_access`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.scope, `${OUTLOOK}/Mail.Read`, 'qualified, without the OIDC scopes');
      const claims = decodeJwt(String(answer.body.access_token));
      assert.equal(claims.aud, OUTLOOK);
      assert.equal(claims.scp, 'Mail.Read');
      assert.equal(claims.ver, '1.0');
      assert.equal(claims.oid, adele.objectId);
      assert.equal(claims.tid, idp.tenantId);
      assert.equal(typeof answer.body.id_token, 'string', 'openid was asked');
      assert.equal(typeof answer.body.refresh_token, 'string');
      assert.notEqual(answer.body.refresh_token, first, 'rotated');
      const request = idp.tokenRequests.at(-1)!;
      assert.equal(request.scope, `${OUTLOOK}/Mail.Read openid profile offline_access`);
      assert.equal(request.resource, OUTLOOK);

      const graph = await refresh(String(answer.body.refresh_token), SIGN_IN_SCOPE);
      assert.equal(graph.status, 200, JSON.stringify(graph.body));
      assert.equal(decodeJwt(String(graph.body.access_token)).aud, GRAPH_APP_ID);
      assert.equal(idp.tokenRequests.at(-1)!.resource, 'https://graph.microsoft.com');
    });

    it('when the scope is a resource’s .default (ARM with its double slash), then the token carries every consented permission of it', async () => {
      const token = await refreshTokenOf(alex);
      const arm = await refresh(token, `${ARM}//.default offline_access`);
      assert.equal(arm.status, 200, JSON.stringify(arm.body));
      assert.equal(decodeJwt(String(arm.body.access_token)).aud, ARM);
      assert.equal(decodeJwt(String(arm.body.access_token)).scp, 'user_impersonation');
      assert.equal(arm.body.id_token, undefined, 'no openid, no id_token');
      const outlook = await refresh(token, `${OUTLOOK}/.default`);
      assert.equal(outlook.status, 200, JSON.stringify(outlook.body));
      assert.equal(decodeJwt(String(outlook.body.access_token)).scp, 'Mail.Read IMAP.AccessAsUser.All SMTP.Send');
      assert.equal(outlook.body.scope, `${OUTLOOK}/Mail.Read ${OUTLOOK}/IMAP.AccessAsUser.All ${OUTLOOK}/SMTP.Send`);
    });

    it('when a Graph refresh names Graph by its prefix or .default, then a Graph token; a Graph permission never consented is AADSTS65001', async () => {
      const token = await refreshTokenOf(adele);
      for (const scope of ['https://graph.microsoft.com/User.Read offline_access openid', 'https://graph.microsoft.com/.default']) {
        const answer = await refresh(token, scope);
        assert.equal(answer.status, 200, `${scope}: ${JSON.stringify(answer.body)}`);
        const claims = decodeJwt(String(answer.body.access_token));
        assert.equal(claims.aud, GRAPH_APP_ID);
        assert.match(String(claims.scp), /(^| )User\.Read( |$)/);
      }
      const refused = await refresh(token, 'Mail.Read offline_access');
      assert.equal(refused.body.error, 'invalid_grant');
      assert.equal(refused.body.suberror, 'consent_required');
    });

    it('when a resource token is checked against the provider’s key set, then it verifies (only Graph’s carry a header nonce)', async () => {
      const answer = await refresh(await refreshTokenOf(adele), `${OUTLOOK}/SMTP.Send`);
      const keys = createRemoteJWKSet(new URL(`${idp.origin}/common/discovery/v2.0/keys`));
      const { payload, protectedHeader } = await jwtVerify(String(answer.body.access_token), keys, { audience: OUTLOOK });
      assert.equal(payload.iss, `${idp.origin}/${idp.tenantId}/`);
      assert.equal(protectedHeader.nonce, undefined);
    });

    it('when the scopes name two resources, then 400 invalid_request AADSTS28000 echoing the scope, and no token is issued', async () => {
      const token = await refreshTokenOf(adele);
      const issued = idp.issuedAccessTokens.length;
      const scope = `User.Read ${OUTLOOK}/Mail.Read offline_access openid`;
      const answer = await refresh(token, scope);
      assertMicrosoftError(
        answer,
        400,
        'invalid_request',
        28000,
        `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
      );
      assert.equal(idp.issuedAccessTokens.length, issued);
      assert.equal(idp.tokenRequests.at(-1)!.status, 400);
    });

    it('when the scope names an unknown resource or an unknown permission, then 400 invalid_scope AADSTS70011', async () => {
      const token = await refreshTokenOf(adele);
      for (const scope of [
        'https://foo.example.com/mail.read offline_access',
        `${OUTLOOK}/Calendars.ReadWrite`,
        `${OUTLOOK}/.default ${OUTLOOK}/Mail.Read`,
      ]) {
        assertMicrosoftError(
          await refresh(token, scope),
          400,
          'invalid_scope',
          70011,
          `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
        );
      }
    });

    it('when a resource is not consented, then 400 invalid_grant AADSTS65001 with suberror consent_required, until the account consents by signing in for it', async () => {
      const graphToken = await refreshTokenOf(adele);
      const refused = await refresh(graphToken, `${SHAREPOINT}/AllSites.Read offline_access`);
      assertMicrosoftError(
        refused,
        400,
        'invalid_grant',
        65001,
        `The user or administrator has not consented to use the application with ID '${CLIENT_ID}' named 'o365-signin'. Send an interactive authorization request for this user and resource.`,
      );
      assert.equal(refused.body.suberror, 'consent_required');
      assert.equal(refused.body.error_uri, 'https://login.microsoftonline.com/error?code=65001');

      const consented = await signIn(adele, `openid offline_access ${SHAREPOINT}/AllSites.Read`);
      assert.equal(consented.status, 200, JSON.stringify(consented.body));
      assert.equal(decodeJwt(String(consented.body.access_token)).aud, SHAREPOINT, 'the code redeemed with that scope is for SharePoint');
      assert.equal(consented.body.scope, `${SHAREPOINT}/AllSites.Read`);

      const later = await refresh(graphToken, `${SHAREPOINT}/AllSites.Read offline_access`);
      assert.equal(later.status, 200, 'the older refresh token serves every consented resource');
      assert.equal(decodeJwt(String(later.body.access_token)).aud, SHAREPOINT);
      const otherUser = await refresh(await refreshTokenOf(alex), `${SHAREPOINT}/.default`);
      assert.equal(otherUser.body.suberror, 'consent_required', 'consent is per account');

      idp.revokeConsent(adele.objectId);
      assert.equal((await refresh(graphToken, `${SHAREPOINT}/AllSites.Read`)).body.suberror, 'consent_required');
    });

    it('when an account consented to one permission of a resource, then another permission of it is still AADSTS65001', async () => {
      const signedIn = await signIn(megan, `openid offline_access ${CUSTOM_API}/Read`);
      assert.equal(decodeJwt(String(signedIn.body.access_token)).aud, CUSTOM_API);
      assert.equal(decodeJwt(String(signedIn.body.access_token)).scp, 'Read');
      const token = String(signedIn.body.refresh_token);
      assert.equal((await refresh(token, `${CUSTOM_API}/Read`)).status, 200);
      const write = await refresh(token, `${CUSTOM_API}/Write`);
      assert.equal(write.body.error, 'invalid_grant');
      assert.deepEqual(write.body.error_codes, [65001]);
    });

    it('when a resource is switched to no tenant consent, then its refresh is AADSTS65001, and back again it works', async () => {
      const token = await refreshTokenOf(adele);
      idp.setResourceConsent(OUTLOOK, 'none');
      assert.equal((await refresh(token, `${OUTLOOK}/Mail.Read`)).body.suberror, 'consent_required');
      idp.setResourceConsent(OUTLOOK, 'tenant');
      assert.equal((await refresh(token, `${OUTLOOK}/Mail.Read`)).status, 200);
    });

    it('when a resource requires MFA, then its refresh answers the claims challenge (AADSTS50076, basic_action) until a sign-in passes the claims back', async () => {
      const token = await refreshTokenOf(alex);
      const challenged = await refresh(token, `${MFA_API}/Data.Read offline_access`);
      assertMicrosoftError(
        challenged,
        400,
        'invalid_grant',
        50076,
        `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${MFA_API}'.`,
      );
      assert.equal(challenged.body.suberror, 'basic_action');
      assert.equal(challenged.body.error_uri, 'https://login.microsoftonline.com/error?code=50076');
      const claims = challenged.body.claims;
      assert.equal(typeof claims, 'string', 'a JSON string, as Microsoft sends it');
      assert.ok((JSON.parse(String(claims)) as { access_token?: unknown }).access_token);

      const withoutClaims = await refresh(await refreshTokenOf(alex), `${MFA_API}/Data.Read`);
      assert.equal(withoutClaims.body.suberror, 'basic_action', 'a sign-in without the claims does not count');
      const signedIn = await signIn(alex, SIGN_IN_SCOPE, { claims: String(claims) });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      const passed = await refresh(String(signedIn.body.refresh_token), `${MFA_API}/Data.Read offline_access`);
      assert.equal(passed.status, 200, JSON.stringify(passed.body));
      assert.equal(decodeJwt(String(passed.body.access_token)).aud, MFA_API);
    });

    it('when a wrong client secret comes with a mixed scope, then the client is refused first (401 invalid_client), as Microsoft authenticates the client before the scope', async () => {
      const token = await refreshTokenOf(adele);
      const answer = await refresh(token, `User.Read ${OUTLOOK}/Mail.Read`, 'not-the-secret');
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'invalid_client');
      assert.deepEqual(answer.body.error_codes, [7000215]);
    });

    it('when an old (rotated-away) refresh token is used again, then it still works, as at Microsoft, and the reuse is counted', async () => {
      const first = await refreshTokenOf(megan);
      const before = idp.refreshTokenReuseCount();
      const second = await refresh(first, SIGN_IN_SCOPE);
      assert.equal(second.status, 200);
      assert.equal((await refresh(String(second.body.refresh_token), SIGN_IN_SCOPE)).status, 200);
      assert.equal(idp.refreshTokenReuseCount(), before, 'each token used once');
      const again = await refresh(first, `${OUTLOOK}/Mail.Read`);
      assert.equal(again.status, 200, "Refresh tokens aren't revoked when used");
      assert.equal(idp.refreshTokenReuseCount(), before + 1);
    });
  });

  describe('code redemption for a resource', () => {
    it('when the redeemed scope names two resources, then 400 invalid_request AADSTS28000', async () => {
      const scope = `openid offline_access ${OUTLOOK}/Mail.Read`;
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const callback = await signInAtProvider(
        new HttpBrowser(),
        authorizeUrl(scope, challenge),
        (url) => url.startsWith(REDIRECT_URI),
        adele,
      );
      const mixed = `${scope} User.Read`;
      const answer = await postToken({
        grant_type: 'authorization_code',
        code: new URL(callback).searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        scope: mixed,
      });
      assertMicrosoftError(
        answer,
        400,
        'invalid_request',
        28000,
        `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${mixed} is not valid.`,
      );
    });

    it('when a sign-in asks for an unknown permission of a known resource, then the provider redirects back with invalid_scope AADSTS70011', async () => {
      const browser = new HttpBrowser();
      const page = await browser.follow(authorizeUrl(`openid ${OUTLOOK}/Calendars.ReadWrite`, 'x'.repeat(43)), {
        stopAt: (url) => url.startsWith(REDIRECT_URI),
      });
      const back = new URL(page.location!);
      assert.equal(back.searchParams.get('error'), 'invalid_scope');
      assert.match(
        back.searchParams.get('error_description')!,
        /^AADSTS70011: The provided value for the input parameter 'scope' is not valid\./,
      );
    });
  });

  describe('the personal account pat@outlook.test', () => {
    it('when pat signs in through common, then the ID token names the consumers tenant and the Graph token is opaque yet works at Graph', async () => {
      const answer = await signIn(pat);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const idToken = decodeJwt(String(answer.body.id_token));
      assert.equal(idToken.iss, `${idp.origin}/${CONSUMERS}/v2.0`);
      assert.equal(idToken.tid, CONSUMERS);
      assert.equal(idToken.oid, pat.objectId);
      const keys = createRemoteJWKSet(new URL(`${idp.origin}/common/discovery/v2.0/keys`));
      await jwtVerify(String(answer.body.id_token), keys, { issuer: `${idp.origin}/${CONSUMERS}/v2.0`, audience: CLIENT_ID });
      const accessToken = String(answer.body.access_token);
      assert.doesNotMatch(accessToken, /\./, 'opaque');
      const me = await fetch(`${idp.graphBaseUrl}/v1.0/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { userPrincipalName: string }).userPrincipalName, pat.username);
    });

    it('when pat asks for a work-only resource, then 400 invalid_scope AADSTS70011 "does not exist"; Outlook needs pat’s own consent', async () => {
      const token = await refreshTokenOf(pat);
      const scope = `${ARM}/user_impersonation offline_access openid profile`;
      assertMicrosoftError(
        await refresh(token, scope),
        400,
        'invalid_scope',
        70011,
        `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' does not exist.`,
      );
      const outlook = await refresh(token, `${OUTLOOK}/Mail.Read`);
      assert.equal(outlook.body.suberror, 'consent_required', 'a tenant-wide consent never covers a personal account');
      const consented = await signIn(pat, `openid offline_access ${OUTLOOK}/Mail.Read`);
      assert.equal(consented.status, 200, JSON.stringify(consented.body));
      assert.equal((await refresh(token, `${OUTLOOK}/Mail.Read`)).status, 200);
    });

    it('when pat asks interactively for ARM, then the sign-in redirects back with invalid_scope AADSTS70011 "does not exist"', async () => {
      const browser = new HttpBrowser();
      const start = authorizeUrl(`openid ${ARM}/user_impersonation`, 'y'.repeat(43));
      const callback = await signInAtProvider(browser, start, (url) => url.startsWith(REDIRECT_URI), pat);
      const back = new URL(callback);
      assert.equal(back.searchParams.get('error'), 'invalid_scope');
      assert.match(back.searchParams.get('error_description')!, /^AADSTS70011: .* The scope '.*' does not exist\./);
    });

    it('when pat signs in through organizations or the home tenant, then the sign-in page refuses the personal account', async () => {
      for (const [tenant, text] of [
        ['organizations', "You can't sign in here with a personal account. Use your work or school account instead."],
        [idp.tenantId, `AADSTS50020: User account '${pat.username}' from identity provider 'live.com' does not exist in tenant`],
      ] as const) {
        const browser = new HttpBrowser();
        const login = await browser.follow(authorizeUrl(SIGN_IN_SCOPE, 'z'.repeat(43), {}, tenant), {
          stopAt: (url) => url.startsWith(REDIRECT_URI),
        });
        const form = readForm(login);
        const answer = await browser.request(form.action, {
          form: { ...form.hidden, [form.usernameField]: pat.username, [form.passwordField]: pat.password },
        });
        assert.equal(answer.status, 200);
        assert.ok(answer.body.replaceAll('&#39;', "'").includes(text), `${tenant}: ${answer.body.slice(0, 200)}`);
      }
    });
  });

  describe('admin consent (GET /{tenant}/v2.0/adminconsent)', () => {
    function adminConsentUrl(tenant: string, scope: string, redirectUri = REDIRECT_URI, state = 'state-12345'): string {
      const url = new URL(`${idp.origin}/${tenant}/v2.0/adminconsent`);
      url.searchParams.set('client_id', CLIENT_ID);
      url.searchParams.set('scope', scope);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('state', state);
      return url.href;
    }

    it('when the Global Administrator (megan) approves, then 302 with admin_consent=True, the tenant GUID, the scope and state, and every work account gets tokens', async () => {
      const scope = `${SHAREPOINT}/.default`;
      const callback = await signInAtProvider(
        new HttpBrowser(),
        adminConsentUrl('organizations', scope),
        (url) => url.startsWith(REDIRECT_URI),
        megan,
      );
      const answer = new URL(callback);
      assert.deepEqual(
        [...answer.searchParams],
        [
          ['admin_consent', 'True'],
          ['tenant', idp.tenantId],
          ['scope', scope],
          ['state', 'state-12345'],
        ],
      );
      assert.deepEqual(idp.adminConsents.at(-1), { tenant: idp.tenantId, clientId: CLIENT_ID, scope });
      const alexToken = await refresh(await refreshTokenOf(alex), `${SHAREPOINT}/AllSites.Read`);
      assert.equal(alexToken.status, 200, JSON.stringify(alexToken.body));
      assert.equal(decodeJwt(String(alexToken.body.access_token)).aud, SHAREPOINT);
      const patToken = await refresh(await refreshTokenOf(pat), `${CUSTOM_API}/Read`);
      assert.equal(patToken.body.suberror, 'consent_required');
    });

    it('when a user who is no administrator (adele) signs in, then "Need admin approval" (AADSTS90094), no redirect and nothing granted', async () => {
      const count = idp.adminConsents.length;
      const browser = new HttpBrowser();
      const login = await browser.follow(adminConsentUrl(idp.tenantId, `${CUSTOM_API}/Write`));
      const form = readForm(login);
      const answer = await browser.request(form.action, {
        form: { ...form.hidden, [form.usernameField]: adele.username, [form.passwordField]: adele.password },
      });
      assert.equal(answer.status, 403);
      assert.equal(answer.location, undefined);
      assert.match(answer.body, /Need admin approval/);
      assert.match(answer.body, /AADSTS90094: The grant requires admin permission\./);
      assert.equal(idp.adminConsents.length, count);
      const back = await browser.request(form.action, { form: { action: 'cancel' } });
      const returned = new URL(back.location!);
      assert.equal(returned.searchParams.get('error'), 'access_denied');
      assert.match(
        returned.searchParams.get('error_description')!,
        /^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: /,
      );
      assert.equal(returned.searchParams.get('error_uri'), 'https://login.microsoftonline.com/error?code=65004');
      assert.equal(returned.searchParams.get('admin_consent'), 'True');
      assert.equal(returned.searchParams.get('state'), 'state-12345');
      assert.equal(returned.searchParams.get('tenant'), null, 'no tenant on errors');
      assert.equal((await refresh(await refreshTokenOf(alex), `${CUSTOM_API}/Write`)).body.suberror, 'consent_required');
    });

    it('when the personal account tries to approve, then access_denied AADSTS50020 and nothing granted', async () => {
      const count = idp.adminConsents.length;
      const callback = await signInAtProvider(
        new HttpBrowser(),
        adminConsentUrl(idp.tenantId, `${CUSTOM_API}/Read`),
        (url) => url.startsWith(REDIRECT_URI),
        pat,
      );
      const answer = new URL(callback);
      assert.equal(answer.searchParams.get('error'), 'access_denied');
      assert.match(answer.searchParams.get('error_description')!, /^AADSTS50020: /);
      assert.equal(answer.searchParams.get('admin_consent'), 'True');
      assert.equal(idp.adminConsents.length, count);
    });

    it('when the tenant is common or consumers, then the endpoint refuses with invalid_request and grants nothing', async () => {
      const count = idp.adminConsents.length;
      for (const tenant of ['common', 'consumers']) {
        const page = await new HttpBrowser().request(adminConsentUrl(tenant, `${SHAREPOINT}/.default`));
        assert.equal(page.status, 302);
        const answer = new URL(page.location!);
        assert.equal(`${answer.origin}${answer.pathname}`, REDIRECT_URI);
        assert.equal(answer.searchParams.get('error'), 'invalid_request');
        assert.match(
          answer.searchParams.get('error_description')!,
          /^AADSTS90014: The provided request must include a 'response_type' input parameter\./,
        );
        assert.equal(answer.searchParams.get('admin_consent'), 'True');
        assert.equal(answer.searchParams.get('tenant'), null);
      }
      assert.equal(idp.adminConsents.length, count);
    });

    it('when the redirect URI is not registered, then the AADSTS50011 page and no redirect', async () => {
      const page = await new HttpBrowser().request(adminConsentUrl(idp.tenantId, `${SHAREPOINT}/.default`, 'https://evil.example/cb'));
      assert.equal(page.status, 400);
      assert.equal(page.location, undefined);
      assert.match(
        page.body,
        /AADSTS50011: The redirect URI &#39;https:\/\/evil\.example\/cb&#39; specified in the request does not match/,
      );
    });
  });
});
