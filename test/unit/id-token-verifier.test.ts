import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import type { ProviderMetadata } from '../../src/auth/discovery.ts';
import { CLOCK_SKEW_SECONDS, MAX_TOKEN_AGE_SECONDS, createIdTokenVerifier } from '../../src/auth/id-token.ts';
import type { IdTokenVerifier } from '../../src/auth/id-token.ts';
import { createSigningKeys } from '../../src/auth/signing-keys.ts';
import { parseConfig } from '../../src/config.ts';
import { AppError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';

// jwtVerify's options at their edges: the security tests' provider faults sit far from them (a week old, an hour ahead).
// The verifier compares with the real clock, so each edge is probed a minute inside and a minute outside it.

const CLIENT_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const TEMPLATE_ISSUER = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const KID = 'key-1';
const MINUTE = 60;

const parsed = parseConfig({ O365_APP_ID: CLIENT_ID, O365_APP_KEY: 'secret-value' });
assert.ok(parsed.ok);

/** The verified result: 'accepted', or the log reason of the id_token_invalid refusal. */
async function outcome(verifier: IdTokenVerifier, metadata: ProviderMetadata, token: string, expectedNonce?: string): Promise<string> {
  try {
    await verifier.verify(token, { metadata, expectedNonce });
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof AppError && error.code === 'id_token_invalid', `id_token_invalid, got ${String(error)}`);
    return (error.cause as Error).message;
  }
}

describe('the ID-token verifier: jwtVerify options at their edges', () => {
  let privateKey: CryptoKey;
  let server: http.Server;
  let metadata: ProviderMetadata;
  let verifier: IdTokenVerifier;

  before(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    // A real key set on loopback, with the issuer Microsoft publishes beside each key.
    const keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, use: 'sig', issuer: TEMPLATE_ISSUER }] };
    server = http.createServer((_request, response) => response.end(JSON.stringify(keys)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    metadata = {
      issuer: TEMPLATE_ISSUER,
      authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
      tokenEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
      jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
      endSessionEndpoint: undefined,
    };
    verifier = createIdTokenVerifier(parsed.config, createSigningKeys({ timeoutMs: 2000, now: Date.now, logger: silentLogger }));
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A genuine token's claims for TENANT, issued now, with these changes (undefined removes a claim). */
  const claims = (changes: (now: number) => Record<string, unknown> = () => ({})): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    const all: Record<string, unknown> = {
      iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      sub: 'subject-1',
      aud: CLIENT_ID,
      exp: now + 3600,
      iat: now,
      nbf: now,
      tid: TENANT,
      oid: 'a1b2c3d4-0000-4000-8000-000000000001',
      nonce: 'nonce-1',
      ...changes(now),
    };
    return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
  };
  const sign = (payload: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: KID, ...header }).sign(privateKey);

  it('when the token is genuine, at sign-in with its nonce or refreshed without one, then it is accepted', async () => {
    assert.equal(await outcome(verifier, metadata, await sign(claims()), 'nonce-1'), 'accepted');
    assert.equal(await outcome(verifier, metadata, await sign(claims(() => ({ nonce: undefined })))), 'accepted');
  });

  for (const { when, edge, claimsAt, reason } of [
    {
      when: 'exp passed the skew ago',
      edge: CLOCK_SKEW_SECONDS,
      claimsAt: (now: number, seconds: number) => ({ iat: now - 600, nbf: now - 600, exp: now - seconds }),
      reason: '"exp" claim timestamp check failed',
    },
    {
      when: 'nbf is the skew ahead',
      edge: CLOCK_SKEW_SECONDS,
      claimsAt: (now: number, seconds: number) => ({ nbf: now + seconds }),
      reason: '"nbf" claim timestamp check failed',
    },
    {
      when: 'iat is the maximum age plus the skew ago',
      edge: MAX_TOKEN_AGE_SECONDS + CLOCK_SKEW_SECONDS,
      claimsAt: (now: number, seconds: number) => ({ iat: now - seconds, nbf: now - seconds }),
      reason: '"iat" claim timestamp check failed (too far in the past)',
    },
    {
      when: 'iat is the skew ahead',
      edge: CLOCK_SKEW_SECONDS,
      claimsAt: (now: number, seconds: number) => ({ iat: now + seconds }),
      reason: '"iat" claim timestamp check failed (it should be in the past)',
    },
  ]) {
    it(`when ${when}, less a minute, then accepted; plus a minute, then '${reason}'`, async () => {
      const tokenAt = (seconds: number) => sign(claims((now) => claimsAt(now, seconds)));
      assert.equal(await outcome(verifier, metadata, await tokenAt(edge - MINUTE), 'nonce-1'), 'accepted');
      assert.equal(await outcome(verifier, metadata, await tokenAt(edge + MINUTE), 'nonce-1'), reason);
    });
  }

  for (const name of ['iss', 'sub', 'aud', 'exp', 'iat', 'oid', 'nonce']) {
    it(`when ${name} is missing, then 'missing required "${name}" claim'`, async () => {
      const token = await sign(claims(() => ({ [name]: undefined })));
      assert.equal(await outcome(verifier, metadata, token, 'nonce-1'), `missing required "${name}" claim`);
    });
  }

  it("when iss names another tenant than the token's tid, then 'unexpected \"iss\" claim value'", async () => {
    const token = await sign(claims(() => ({ iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` })));
    assert.equal(await outcome(verifier, metadata, token, 'nonce-1'), 'unexpected "iss" claim value');
  });

  it('when aud is another client, then \'unexpected "aud" claim value\'; a list of this client alone is accepted', async () => {
    assert.equal(
      await outcome(verifier, metadata, await sign(claims(() => ({ aud: OTHER_TENANT }))), 'nonce-1'),
      'unexpected "aud" claim value',
    );
    assert.equal(await outcome(verifier, metadata, await sign(claims(() => ({ aud: [CLIENT_ID] }))), 'nonce-1'), 'accepted');
  });

  it('when the token is signed with PS256 under the published kid, then the algorithm is not allowed (only RS256)', async () => {
    const { privateKey: pssKey } = await generateKeyPair('PS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'PS256', kid: KID }).sign(pssKey);
    assert.equal(await outcome(verifier, metadata, token, 'nonce-1'), '"alg" (Algorithm) Header Parameter value not allowed');
  });

  it('when the token names its own key in the header (jku), then "the ID token header names its own key"', async () => {
    const token = await sign(claims(), { jku: 'https://evil.example/keys' });
    assert.equal(await outcome(verifier, metadata, token, 'nonce-1'), 'the ID token header names its own key');
  });
});
