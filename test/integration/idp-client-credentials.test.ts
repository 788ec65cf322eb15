import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { createTestCertificate, daysFromNow } from '../support/client-certificates.ts';
import type { TestCertificate } from '../support/client-certificates.ts';
import { startWorkloadPlatform, TOKEN_EXCHANGE_AUDIENCE } from '../support/workload-platform.ts';
import type { WorkloadPlatform } from '../support/workload-platform.ts';

const APP_ID = '0d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f60';
const SECRET_ONLY_APP_ID = '1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b';
const SUBJECT = 'repo:contoso/o365-signin:environment:Production';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  error: string;
  code: number | undefined;
  description: string;
}

describe('the local provider authenticates apps at the token endpoint as Microsoft Entra ID does', () => {
  let idp: StartedIdp;
  let platform: WorkloadPlatform;
  let registered: TestCertificate;
  let unregistered: TestCertificate;
  let expiredRegistered: TestCertificate;
  let tokenEndpoint: string;

  before(async () => {
    [registered, unregistered, expiredRegistered] = await Promise.all([
      createTestCertificate(),
      createTestCertificate(),
      createTestCertificate(daysFromNow(-400, -1)),
    ]);
    platform = await startWorkloadPlatform();
    idp = await startIdentityProvider({
      port: 0,
      clients: [
        {
          clientId: APP_ID,
          certificates: [registered.certificatePem, expiredRegistered.certificatePem],
          federatedCredentials: [{ issuer: platform.issuer, subject: SUBJECT, audiences: [TOKEN_EXCHANGE_AUDIENCE] }],
          redirectUris: ['http://127.0.0.1:5999/connect/get_token'],
        },
        {
          clientId: SECRET_ONLY_APP_ID,
          clientSecret: 'only-a-secret-for-this-one',
          redirectUris: ['http://127.0.0.1:5998/connect/get_token'],
        },
      ],
    });
    tokenEndpoint = `${idp.origin}/common/oauth2/v2.0/token`;
  });
  after(async () => {
    await idp.close();
    await platform.close();
    for (const certificate of [registered, unregistered, expiredRegistered]) certificate.remove();
  });

  /** A refresh with a made-up refresh token: a credential that passes gets invalid_grant, one that fails gets its own refusal. */
  async function postToken(fields: Record<string, string>, clientId = APP_ID): Promise<Answer> {
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', ...fields }),
    });
    const body = (await response.json()) as { error: string; error_codes?: number[]; error_description: string };
    return { status: response.status, error: body.error, code: body.error_codes?.[0], description: body.error_description };
  }

  const withAssertion = (assertion: string) => ({ client_assertion_type: JWT_BEARER, client_assertion: assertion });

  /** A certificate assertion as the app makes one, with any header field or claim replaced. */
  function certificateAssertion(
    options: {
      certificate?: TestCertificate;
      signingKey?: string;
      header?: Record<string, unknown>;
      claims?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const certificate = options.certificate ?? registered;
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'PS256', typ: 'JWT', 'x5t#S256': certificate.x5tS256, x5t: certificate.x5t, ...options.header };
    const claims = {
      aud: tokenEndpoint,
      iss: APP_ID,
      sub: APP_ID,
      jti: crypto.randomUUID(),
      nbf: now,
      iat: now,
      exp: now + 600,
      ...options.claims,
    };
    const key = crypto.createPrivateKey(options.signingKey ?? certificate.privateKeyPem);
    return new SignJWT(claims)
      .setProtectedHeader(header as { alg: string })
      .sign(header.alg === 'HS256' ? crypto.createSecretKey(Buffer.alloc(32, 1)) : key);
  }

  function assertAuthenticated(answer: Answer): void {
    assert.equal(answer.status, 400, answer.description);
    assert.equal(answer.error, 'invalid_grant', 'the credential passed; only the made-up refresh token was refused');
  }

  function assertRefused(answer: Answer, status: number, error: string, code: number, text: RegExp): void {
    assert.deepEqual([answer.status, answer.error, answer.code], [status, error, code], answer.description);
    assert.match(answer.description, new RegExp(`^AADSTS${code}: `));
    assert.match(answer.description, text);
  }

  it('when a certificate assertion is right, then the app is authenticated and the request is recorded with its header and claims', async () => {
    const answer = await postToken(withAssertion(await certificateAssertion()));
    assertAuthenticated(answer);
    const record = idp.tokenRequests.at(-1);
    assert.equal(record?.clientAuthentication, 'certificate');
    assert.equal(record?.clientSecretSent, false);
    assert.equal(record?.assertionHeader?.['x5t#S256'], registered.x5tS256);
    assert.equal(record?.assertionClaims?.sub, APP_ID);
  });

  it('when the aud names the token endpoint under the tenant id, then it is accepted as well', async () => {
    const aud = tokenEndpoint.replace('/common/', `/${idp.tenantId}/`);
    assertAuthenticated(await postToken(withAssertion(await certificateAssertion({ claims: { aud } }))));
  });

  it('when an assertion comes a second time (same jti), then the second is refused (Entra does not enforce this; issue 17 asks for it)', async () => {
    const assertion = await certificateAssertion();
    assertAuthenticated(await postToken(withAssertion(assertion)));
    assertRefused(await postToken(withAssertion(assertion)), 401, 'invalid_client', 50027, /jti '.*' was used before/);
  });

  for (const [what, options, status, error, code, text] of [
    [
      'the aud is the issuer, not the token endpoint',
      () => ({ claims: { aud: `${idp.origin}/${idp.tenantId}/v2.0` } }),
      401,
      'invalid_client',
      50012,
      /audience claim does not match/,
    ],
    ['the aud is an array', () => ({ claims: { aud: [tokenEndpoint] } }), 401, 'invalid_client', 50027, /invalid or malformed/],
    [
      'the sub is not the iss',
      () => ({ claims: { sub: crypto.randomUUID() } }),
      401,
      'invalid_client',
      50048,
      /Subject must match the issuer/,
    ],
    [
      'the iss is not the app',
      () => ({ claims: { iss: crypto.randomUUID() } }),
      401,
      'invalid_client',
      50027,
      /iss claim must be the application id/,
    ],
    [
      'it expired ten minutes ago',
      () => ({ claims: { exp: Math.floor(Date.now() / 1000) - 600 } }),
      401,
      'invalid_client',
      700024,
      /not within its valid time range\. Current time: /,
    ],
    [
      'it is valid only from an hour on',
      () => ({ claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } }),
      401,
      'invalid_client',
      700024,
      /assertion valid from /,
    ],
    ['it has no jti', () => ({ claims: { jti: undefined } }), 401, 'invalid_client', 50027, /jti claim is missing/],
    [
      'its header names no thumbprint',
      () => ({ header: { 'x5t#S256': undefined, x5t: undefined } }),
      401,
      'invalid_client',
      50027,
      /No certificate thumbprint/,
    ],
    [
      'it is signed with HS256',
      () => ({ header: { alg: 'HS256' } }),
      400,
      'invalid_request',
      5002730,
      /Unsupported key for the signing algorithm/,
    ],
  ] as const) {
    it(`when ${what}, then AADSTS${code}`, async () => {
      assertRefused(await postToken(withAssertion(await certificateAssertion(options() as never))), status, error, code, text);
      assert.equal(idp.tokenRequests.at(-1)?.status, status, 'refusals are recorded too');
    });
  }

  it('when the certificate is not registered on the app, then AADSTS700027 names its SHA-1 thumbprint', async () => {
    const answer = await postToken(withAssertion(await certificateAssertion({ certificate: unregistered })));
    assertRefused(
      answer,
      401,
      'invalid_client',
      700027,
      new RegExp(`not registered on application\\. .*Thumbprint of key used by client: '${unregistered.sha1Hex}'`),
    );
  });

  it('when only x5t#S256 names the certificate, then it is found by it; a mismatched x5t beside it is refused', async () => {
    assertAuthenticated(await postToken(withAssertion(await certificateAssertion({ header: { x5t: undefined } }))));
    const mixed = await certificateAssertion({ header: { x5t: unregistered.x5t } });
    assertRefused(await postToken(withAssertion(mixed)), 401, 'invalid_client', 700027, /not registered/);
  });

  it('when the header names a registered certificate but another key signed, then AADSTS700027 says the key was found and the signature failed', async () => {
    const forged = await certificateAssertion({ signingKey: unregistered.privateKeyPem });
    assertRefused(
      await postToken(withAssertion(forged)),
      401,
      'invalid_client',
      700027,
      /Key was found, but use of the key to verify the signature failed/,
    );
  });

  it('when the registered certificate has expired, then AADSTS700027 says the key is expired', async () => {
    const answer = await postToken(withAssertion(await certificateAssertion({ certificate: expiredRegistered })));
    assertRefused(answer, 401, 'invalid_client', 700027, /The key used is expired\. .*Found key 'Start=/);
  });

  it('when a secret comes beside the assertion, then AADSTS7000215; when neither comes, AADSTS7000218; a wrong assertion type is refused', async () => {
    const both = await postToken({ ...withAssertion(await certificateAssertion()), client_secret: 'anything' });
    assertRefused(both, 401, 'invalid_client', 7000215, /Invalid client secret provided/);
    assertRefused(await postToken({}), 401, 'invalid_client', 7000218, /'client_assertion' or 'client_secret'/);
    const wrongType = await postToken({
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      client_assertion: await certificateAssertion(),
    });
    assertRefused(wrongType, 400, 'invalid_request', 90100, /client_assertion_type must be/);
  });

  it('when an app without a secret is sent one, then AADSTS7000215 (no secret can match)', async () => {
    assertRefused(await postToken({ client_secret: 'a-guess' }), 401, 'invalid_client', 7000215, /Invalid client secret provided/);
  });

  it("when a platform's token matches the app's federated credential, then the app is authenticated, as often as the platform presents that token", async () => {
    const token = await platform.issueToken(SUBJECT);
    assertAuthenticated(await postToken(withAssertion(token)));
    assertAuthenticated(await postToken(withAssertion(token)));
    assert.equal(idp.tokenRequests.at(-1)?.clientAuthentication, 'federated');
  });

  it("when the federated token does not match issuer, subject, audience, keys or time, then Microsoft's federated refusals", async () => {
    const otherIssuer = await startWorkloadPlatform();
    try {
      assertRefused(
        await postToken(withAssertion(await otherIssuer.issueToken(SUBJECT))),
        401,
        'invalid_client',
        700211,
        /presented assertion issuer/,
      );
    } finally {
      await otherIssuer.close();
    }
    assertRefused(
      await postToken(withAssertion(await platform.issueToken('repo:contoso/other:ref:refs/heads/main'))),
      401,
      'invalid_client',
      700213,
      /presented assertion subject/,
    );
    assertRefused(
      await postToken(withAssertion(await platform.issueToken(SUBJECT.toUpperCase()))),
      401,
      'invalid_client',
      7002138,
      /case-insensitive comparison/,
    );
    assertRefused(
      await postToken(withAssertion(await platform.issueToken(SUBJECT, { audience: 'https://github.com/contoso' }))),
      401,
      'invalid_client',
      700212,
      /presented assertion audience/,
    );
    assertRefused(
      await postToken(withAssertion(await platform.issueToken(SUBJECT, { signedByUnpublishedKey: true }))),
      401,
      'invalid_client',
      700027,
      /not signed by a key of issuer/,
    );
    assertRefused(
      await postToken(withAssertion(await platform.issueToken(SUBJECT, { expiresInSeconds: -600 }))),
      401,
      'invalid_client',
      700024,
      /not within its valid time range/,
    );
    assertRefused(
      await postToken(withAssertion(await platform.issueToken(SUBJECT)), SECRET_ONLY_APP_ID),
      400,
      'invalid_request',
      70021,
      /No matching federated identity record found for presented assertion\. Assertion Issuer: /,
    );
  });
});
