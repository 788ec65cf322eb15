import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAuthorizationUrl } from '../../src/auth/oauth-client.ts';
import {
  addPendingSignIn,
  codeChallengeOf,
  createPendingSignIn,
  MAX_PENDING_SIGN_INS,
  PENDING_SIGN_IN_MS,
  takePendingSignIn,
} from '../../src/auth/pending-sign-ins.ts';
import { parseConfig } from '../../src/config.ts';
import type { ProviderMetadata } from '../../src/auth/discovery.ts';

const parsed = parseConfig({ O365_APP_ID: '11111111-2222-3333-4444-555555555555', O365_APP_KEY: 'secret-value' });
assert.ok(parsed.ok);
const config = parsed.config;
const metadata: ProviderMetadata = {
  issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
  authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
  tokenEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  jwksUri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
  endSessionEndpoint: undefined,
};

describe('the authorization request', () => {
  it('when a sign-in starts, then the URL carries code flow, query mode, PKCE S256, state, nonce and the configured redirect URI', () => {
    const signIn = createPendingSignIn(Date.now());
    const url = new URL(buildAuthorizationUrl(config, metadata, signIn));
    assert.equal(`${url.origin}${url.pathname}`, metadata.authorizationEndpoint);
    const query = Object.fromEntries(url.searchParams);
    assert.deepEqual(query, {
      response_type: 'code',
      client_id: config.appId,
      redirect_uri: 'http://127.0.0.1:5000/connect/get_token',
      scope: 'openid profile offline_access User.Read',
      state: signIn.state,
      nonce: signIn.nonce,
      code_challenge: codeChallengeOf(signIn.codeVerifier),
      code_challenge_method: 'S256',
      response_mode: 'query',
    });
    assert.match(query.code_challenge!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!url.href.includes(signIn.codeVerifier), 'the verifier never leaves the server');
  });

  it('when the authorization endpoint has a query of its own, then it is kept (RFC 6749 §3.1)', () => {
    const url = new URL(
      buildAuthorizationUrl(
        config,
        { ...metadata, authorizationEndpoint: `${metadata.authorizationEndpoint}?p=b2c_1_signin` },
        createPendingSignIn(Date.now()),
      ),
    );
    assert.equal(url.searchParams.get('p'), 'b2c_1_signin');
    assert.equal(url.searchParams.get('response_type'), 'code');
  });

  it("when the verifier is RFC 7636's example, then the challenge is the RFC's", () => {
    assert.equal(codeChallengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('when 10,000 sign-ins start, then no state, nonce or verifier repeats and each has 256 bits', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) {
      const { state, nonce, codeVerifier } = createPendingSignIn(0);
      for (const value of [state, nonce, codeVerifier]) {
        assert.equal(Buffer.from(value, 'base64url').length, 32);
        seen.add(value);
      }
    }
    assert.equal(seen.size, 30_000);
  });

  it('when more sign-ins are pending than the cap, then the oldest are dropped', () => {
    let pending = addPendingSignIn(undefined, createPendingSignIn(1000));
    const first = pending[0]!;
    for (let i = 0; i < MAX_PENDING_SIGN_INS; i += 1) pending = addPendingSignIn(pending, createPendingSignIn(2000 + i));
    assert.equal(pending.length, MAX_PENDING_SIGN_INS);
    assert.ok(!pending.includes(first));
  });

  it('when a pending sign-in is older than 10 minutes, then adding another drops it', () => {
    const old = createPendingSignIn(0);
    const pending = addPendingSignIn([old], createPendingSignIn(PENDING_SIGN_IN_MS + 1));
    assert.equal(pending.length, 1);
    assert.ok(!pending.includes(old));
  });

  it('when a state is taken, then it is found once and the others remain', () => {
    const a = createPendingSignIn(0);
    const b = createPendingSignIn(0);
    const first = takePendingSignIn([a, b], a.state);
    assert.equal(first.signIn, a);
    assert.deepEqual(first.remaining, [b]);
    assert.equal(takePendingSignIn(first.remaining, a.state).signIn, undefined);
    assert.equal(takePendingSignIn([a, b], 'unknown').signIn, undefined);
  });
});
