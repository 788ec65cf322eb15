import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import {
  checkAuthorizedParty,
  checkHeader,
  checkNonce,
  checkSigningKeyIssuer,
  checkTenantAllowed,
  readExpectedIssuer,
  readIdentity,
} from '../../src/auth/id-token-checks.ts';
import { AppError } from '../../src/errors.ts';

const CLIENT_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const TEMPLATE_ISSUER = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const NOW = 1_800_000_000;

/** A genuine token's claims, as Microsoft sends them for TENANT, issued at NOW. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    sub: 'subject-1',
    aud: CLIENT_ID,
    exp: NOW + 3600,
    iat: NOW,
    nbf: NOW,
    tid: TENANT,
    oid: 'A1B2C3D4-0000-4000-8000-000000000001',
    nonce: 'nonce-1',
    name: 'Adele Vance',
    preferred_username: 'adele@contoso.test',
    ...overrides,
  };
}

/** The check threw the ID-token error (or another code) whose cause is exactly `reason`. */
function assertRejected(check: () => unknown, reason: string): void {
  assert.throws(check, (error: unknown) => {
    assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
    assert.equal(error.code, 'id_token_invalid');
    assert.equal(error.status, 400);
    assert.equal((error.cause as Error).message, reason);
    return true;
  });
}

describe('ID-token checks, each alone', () => {
  describe('checkHeader', () => {
    it('when the header names only an algorithm and a kid, then it passes', () => {
      checkHeader({ alg: 'RS256', kid: 'key-1', typ: 'JWT' });
    });

    for (const own of [
      { jku: 'https://evil.example/keys' },
      { x5u: 'https://evil.example/cert' },
      { jwk: { kty: 'RSA', n: 'x', e: 'AQAB' } },
    ]) {
      it(`when the header carries its own key (${Object.keys(own)[0]}), then "the ID token header names its own key"`, () => {
        assertRejected(() => checkHeader({ alg: 'RS256', kid: 'key-1', ...own }), 'the ID token header names its own key');
      });
    }
  });

  describe('readExpectedIssuer', () => {
    it("when the discovery issuer is the template, then the issuer is filled in from the token's own tid", () => {
      assert.deepEqual(readExpectedIssuer(claims(), TEMPLATE_ISSUER), {
        tenantId: TENANT,
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      });
    });

    for (const [label, tid] of [
      ['a domain', 'contoso.onmicrosoft.com'],
      ['common', 'common'],
      ['the literal template', '{tenantid}'],
      ['empty', ''],
      ['a number', 42],
      ['missing', undefined],
    ] as const) {
      it(`when tid is ${label}, then "the ID token tid is not a tenant id"`, () => {
        assertRejected(() => readExpectedIssuer(claims({ tid }), TEMPLATE_ISSUER), 'the ID token tid is not a tenant id');
      });
    }
  });

  describe('checkAuthorizedParty', () => {
    it('when there is one audience and azp, if any, is this client, then it passes', () => {
      checkAuthorizedParty(claims(), CLIENT_ID);
      checkAuthorizedParty(claims({ aud: [CLIENT_ID], azp: CLIENT_ID }), CLIENT_ID);
    });

    it('when there are two audiences, then "the ID token has more than one audience"', () => {
      assertRejected(
        () => checkAuthorizedParty(claims({ aud: [CLIENT_ID, OTHER_TENANT] }), CLIENT_ID),
        'the ID token has more than one audience',
      );
    });

    it('when azp names another client, then "the ID token azp is another client"', () => {
      assertRejected(() => checkAuthorizedParty(claims({ azp: OTHER_TENANT }), CLIENT_ID), 'the ID token azp is another client');
    });
  });

  describe('checkNonce', () => {
    it('when the nonce is the one sent, then it passes', () => {
      checkNonce(claims(), 'nonce-1');
    });

    it('when the nonce differs or is not a string, then "the ID token nonce differs"', () => {
      assertRejected(() => checkNonce(claims(), 'nonce-2'), 'the ID token nonce differs');
      assertRejected(() => checkNonce(claims({ nonce: 1 }), '1'), 'the ID token nonce differs');
    });
  });

  describe('checkSigningKeyIssuer', () => {
    it('when the key may sign for every tenant, or names none, then it passes', () => {
      checkSigningKeyIssuer(TEMPLATE_ISSUER, claims(), TENANT);
      checkSigningKeyIssuer(undefined, claims(), TENANT);
    });

    it('when the key belongs to another tenant, then "the signing key belongs to another issuer"', () => {
      assertRejected(
        () => checkSigningKeyIssuer(`https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`, claims(), TENANT),
        'the signing key belongs to another issuer',
      );
    });
  });

  describe('checkTenantAllowed', () => {
    it('when no allow-list is set, or it lists the tenant (in any case), then it passes', () => {
      checkTenantAllowed(TENANT, undefined);
      checkTenantAllowed(TENANT.toUpperCase(), [OTHER_TENANT, TENANT]);
    });

    it('when the allow-list leaves the tenant out, then 403 tenant_not_allowed naming the tenant', () => {
      assert.throws(
        () => checkTenantAllowed(TENANT, [OTHER_TENANT]),
        (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.code, 'tenant_not_allowed');
          assert.equal(error.status, 403);
          assert.equal(error.details.description, `Tenant ID ${TENANT}`);
          return true;
        },
      );
    });
  });

  describe('readIdentity', () => {
    it('when the token passed, then the ids are lower case and the name falls back to the username', () => {
      assert.deepEqual(readIdentity(claims({ name: undefined }), TENANT.toUpperCase()), {
        tenantId: TENANT,
        objectId: 'a1b2c3d4-0000-4000-8000-000000000001',
        subject: 'subject-1',
        displayName: 'adele@contoso.test',
        username: 'adele@contoso.test',
      });
    });

    it('when sub is missing, then "the ID token has no valid \'sub\'"', () => {
      assertRejected(() => readIdentity(claims({ sub: undefined }), TENANT), "the ID token has no valid 'sub'");
    });
  });
});
