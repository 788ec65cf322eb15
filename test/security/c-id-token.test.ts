import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startServer } from '../../src/start-server.ts';
import { isAppError } from '../../src/errors.ts';
import { OTHER_TENANT_ID } from '../../dev/idp/faults.ts';
import { TENANT_DOMAIN } from '../../dev/idp/accounts.ts';
import type { IdpFault } from '../../dev/idp/index.ts';
import { TEST_APP_ID, TEST_APP_KEY, startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import {
  assertFailSafePage,
  assertIdTokenRejected,
  assertNothingHappened,
  assertNothingWritten,
  resetHarness,
  signIn,
  useHarness,
} from '../support/outcomes.ts';
import { eventLines } from '../support/test-log.ts';

/** Signs in with the fault on and asserts the ID token was rejected and nothing happened. */
async function assertFaultRejected(harness: Harness, fault: IdpFault | IdpFault[]): Promise<void> {
  harness.idp.setFault(fault);
  const { browser, callback } = await signIn(harness);
  assertIdTokenRejected(callback);
  assert.match(callback.body, /href="\/connect"/, 'offers to start again');
  await assertNothingHappened(harness, browser);
}

describe('C. ID token checks', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S11: when the RS256 signature is wrong, then REJECT', async () => {
    await assertFaultRejected(harness, 'id-token-bad-signature');
  });

  for (const fault of [
    'id-token-alg-none',
    'id-token-hs256-client-secret',
    'id-token-jku-header',
    'id-token-x5u-header',
    'id-token-jwk-header',
  ] satisfies IdpFault[]) {
    it(`S12: when the ID token is ${fault.replace('id-token-', '')}, then REJECT; only RS256 with a key from the discovery jwks_uri is accepted`, async () => {
      await assertFaultRejected(harness, fault);
    });
  }

  for (const fault of [
    'id-token-alg-none-known-kid',
    'id-token-hs256-known-kid',
    'id-token-jku-header-known-key',
    'id-token-x5u-header-known-key',
    'id-token-jwk-header-known-key',
  ] satisfies IdpFault[]) {
    it(`S12: when the ID token is ${fault.replace('id-token-', '')} (a published kid, so only the algorithm or header rule can refuse it), then REJECT`, async () => {
      await assertFaultRejected(harness, fault);
    });
  }

  for (const [fault, rule, reason] of [
    ['id-token-wrong-issuer', 'the iss check', 'unexpected "iss" claim value'],
    ['id-token-v1-issuer', 'the iss check', 'unexpected "iss" claim value'],
    ['id-token-other-cloud-issuer', 'the iss check', 'unexpected "iss" claim value'],
    ['id-token-template-issuer', 'the iss check', 'unexpected "iss" claim value'],
    ['id-token-non-guid-tid', 'the tid check', 'the ID token tid is not a tenant id'],
  ] as const satisfies readonly (readonly [IdpFault, string, string])[]) {
    it(`S13: when the issuer is not {authority}/{tid}/v2.0 of the token's own tid (${fault.replace('id-token-', '')}), then REJECT`, async () => {
      await assertFaultRejected(harness, fault);
    });

    it(`S13: when a key published without a JWKS issuer signs a token whose issuer is wrong (${fault.replace('id-token-', '')}), then ${rule} alone REJECTs`, async () => {
      await assertFaultRejected(harness, ['keys-no-issuer', fault]);
      const logged = (JSON.parse(eventLines(harness.logs).at(-1)!) as { reason?: string }).reason;
      assert.equal(logged, reason);
    });
  }

  it('S13: when a key published without a JWKS issuer signs a genuine token, then the sign-in succeeds (the faults above fail on iss alone)', async () => {
    harness.idp.setFault('keys-no-issuer');
    assert.equal((await signIn(harness)).callback.status, 303);
  });

  it('S14: when a key whose JWKS issuer names a fixed tenant signs a token for another tenant, then REJECT', async () => {
    harness.clock.advance(2 * 60 * 1000);
    await assertFaultRejected(harness, 'keys-fixed-tenant-issuer');
    const reason = (JSON.parse(eventLines(harness.logs).at(-1)!) as { reason?: string }).reason;
    assert.equal(reason, 'the signing key belongs to another issuer', 'the key was found; its issuer is what failed');
  });

  it("S14: when a key whose JWKS issuer names the token's own tenant signs it, then the sign-in succeeds (the rule is the key's issuer, not its presence)", async () => {
    harness.clock.advance(2 * 60 * 1000);
    harness.idp.setFault('keys-home-tenant-issuer');
    const { callback } = await signIn(harness);
    assert.equal(callback.status, 303);
  });

  for (const fault of [
    'id-token-wrong-audience',
    'id-token-no-audience',
    'id-token-extra-audience',
    'id-token-wrong-azp',
  ] satisfies IdpFault[]) {
    it(`S15: when the audience is wrong (${fault.replace('id-token-', '')}), then REJECT`, async () => {
      await assertFaultRejected(harness, fault);
    });
  }

  for (const fault of [
    'id-token-expired',
    'id-token-no-exp',
    'id-token-not-yet-valid',
    'id-token-no-iat',
    'id-token-week-old',
  ] satisfies IdpFault[]) {
    it(`S16: when the token's times are wrong (${fault.replace('id-token-', '')}), then REJECT`, async () => {
      await assertFaultRejected(harness, fault);
    });
  }

  for (const [fault, condition, reason] of [
    [
      'id-token-expired-recent-iat',
      'exp is more than the 5-minute skew in the past but iat is recent',
      '"exp" claim timestamp check failed',
    ],
    [
      'id-token-iat-in-future',
      'iat is in the future but nbf and exp are fine',
      '"iat" claim timestamp check failed (it should be in the past)',
    ],
  ] as const) {
    it(`S16: when ${condition} (${fault.replace('id-token-', '')}), then that check alone REJECTs`, async () => {
      await assertFaultRejected(harness, fault);
      assert.equal((JSON.parse(eventLines(harness.logs).at(-1)!) as { reason?: string }).reason, reason);
    });
  }

  for (const fault of ['id-token-wrong-nonce', 'id-token-no-nonce'] satisfies IdpFault[]) {
    it(`S17: when the nonce is ${fault === 'id-token-no-nonce' ? 'missing' : 'different'}, then REJECT`, async () => {
      await assertFaultRejected(harness, fault);
    });
  }

  it('S17: when an ID token from an earlier sign-in is replayed, then REJECT', async () => {
    const earlier = await signIn(harness);
    assert.equal(earlier.callback.status, 303);
    await harness.database.prisma.user.deleteMany();
    await harness.database.prisma.session.deleteMany();
    await assertFaultRejected(harness, 'id-token-replayed');
  });

  it('S18: when sub is missing, then REJECT', async () => {
    await assertFaultRejected(harness, 'id-token-no-sub');
  });

  it('S18: when the username changes, then it is still one user: the key is (tid, oid), never email or username', async () => {
    assert.equal((await signIn(harness)).callback.status, 303);
    harness.idp.setFault('id-token-new-username');
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    const users = await harness.database.prisma.user.findMany();
    assert.equal(users.length, 1);
    assert.equal(users[0]!.username, 'renamed@contoso.test');
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /renamed@contoso\.test/);
  });

  it('S18: when the same person signs in from two tenants, then they are two users', async () => {
    assert.equal((await signIn(harness)).callback.status, 303);
    harness.idp.setFault('id-token-other-tenant');
    assert.equal((await signIn(harness)).callback.status, 303);
    const users = await harness.database.prisma.user.findMany({ orderBy: { createdAt: 'asc' } });
    assert.deepEqual(users.map((user) => user.tenantId).sort(), [harness.idp.tenantId, OTHER_TENANT_ID].sort());
    assert.equal(new Set(users.map((user) => user.objectId)).size, 1, 'same oid, two rows');
  });

  it('S19: when the kid is unknown, then one JWKS refetch (rate-limited) and REJECT; a rolled key the JWKS now publishes signs in without a restart', async () => {
    assert.equal((await signIn(harness)).callback.status, 303, 'keys cached');
    await resetHarness(harness);
    const fetchedAtStart = harness.idp.jwksRequestCount();

    harness.clock.advance(2 * 60 * 1000);
    await assertFaultRejected(harness, 'id-token-unknown-key');
    assert.equal(harness.idp.jwksRequestCount(), fetchedAtStart + 1, 'one refetch for the unknown kid');
    await assertFaultRejected(harness, 'id-token-unknown-key');
    assert.equal(harness.idp.jwksRequestCount(), fetchedAtStart + 1, 'no second refetch within the cooldown');

    harness.clock.advance(2 * 60 * 1000);
    harness.idp.setFault('keys-rolled');
    const rolled = await signIn(harness);
    assert.equal(rolled.callback.status, 303, 'the rolled key is fetched and accepted');
    assert.equal(harness.idp.jwksRequestCount(), fetchedAtStart + 2);
    assert.equal((await signIn(harness)).callback.status, 303);
    assert.equal(harness.idp.jwksRequestCount(), fetchedAtStart + 2, 'then served from the cache');
  });

  for (const fault of ['keys-encryption-key', 'keys-other-alg-key'] satisfies IdpFault[]) {
    it(`S40: when the ID token is signed with a key the JWKS publishes for another use or algorithm (${fault.replace('keys-', '')}), then that key is ignored and REJECT`, async () => {
      await assertFaultRejected(harness, fault);
      assert.ok(harness.logs.some((line) => line.includes('ignored an unusable key in the key set')));
    });
  }

  it('S20: when the access token is opaque or carries a header nonce, then the app stores it unvalidated and takes its expiry from expires_in', async () => {
    const first = await signIn(harness);
    assert.equal(first.callback.status, 303);
    const jwtAccessToken = harness.idp.issuedAccessTokens.at(-1)!;
    assert.ok(
      typeof decodeProtectedHeader(jwtAccessToken).nonce === 'string',
      'the Graph token has a header nonce, which breaks signature checks',
    );

    harness.idp.setFault('response-opaque-access-token');
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    const opaque = harness.idp.issuedAccessTokens.at(-1)!;
    assert.doesNotMatch(opaque, /\./, 'opaque, as for personal accounts');
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.ok(home.body.includes(opaque));
    const tokenSet = await harness.database.prisma.tokenSet.findFirstOrThrow();
    const lifetime = (tokenSet.expiresAt.getTime() - tokenSet.updatedAt.getTime()) / 1000;
    assert.ok(Math.abs(lifetime - 3600) < 120, `expiry from expires_in (3600 s), got ${lifetime} s`);
  });

  it('S40: when the JWKS answers 5xx, hangs, is empty, or has an unparseable key beside good ones, then FAIL-SAFE without keys, cached keys keep working, and bad keys are ignored', async () => {
    const fresh = await startHarness({ env: { O365_HTTP_TIMEOUT_MS: '1000' } });
    try {
      for (const fault of ['keys-error', 'keys-hang', 'keys-empty'] satisfies IdpFault[]) {
        fresh.idp.setFault(fault);
        const { browser, callback } = await signIn(fresh);
        assertFailSafePage(callback);
        await assertNothingHappened(fresh, browser);
      }
      fresh.idp.setFault('keys-garbage-beside-good');
      fresh.clock.advance(2 * 60 * 1000);
      assert.equal((await signIn(fresh)).callback.status, 303, 'the good key is used, the garbage ignored');

      fresh.idp.setFault('keys-error');
      fresh.clock.advance(25 * 60 * 60 * 1000);
      assert.equal(
        (await signIn(fresh)).callback.status,
        303,
        'cached keys keep working while the JWKS is down, even past their refresh time',
      );
      fresh.idp.setFault(['keys-error', 'id-token-unknown-key']);
      const unknown = await signIn(fresh);
      assert.ok(unknown.callback.status >= 400, 'nothing is accepted unverified');
      assert.equal(await fresh.database.prisma.user.count(), 1, 'only the two good sign-ins of the same person are stored');
    } finally {
      await fresh.close();
    }
  });
});

describe('C. tenant rules', () => {
  it('S13: when O365_ALLOWED_TENANTS does not list the tenant, then a 403 page and nothing is written; when it does, the sign-in succeeds', async () => {
    const closed = await startHarness({ env: { O365_ALLOWED_TENANTS: OTHER_TENANT_ID } });
    try {
      const { browser, callback } = await signIn(closed);
      assert.equal(callback.status, 403);
      assert.match(callback.body, /Your organisation cannot use this app/);
      assert.match(callback.body, new RegExp(closed.idp.tenantId));
      await assertNothingHappened(closed, browser);
    } finally {
      await closed.close();
    }
    const open = await startHarness({ env: { O365_ALLOWED_TENANTS: `${OTHER_TENANT_ID}, ${'4B0911A0-929B-4715-944B-C03745165B3A'}` } });
    try {
      assert.equal((await signIn(open)).callback.status, 303);
      open.idp.setFault('id-token-other-tenant');
      assert.equal((await signIn(open)).callback.status, 303);
      assert.equal(await open.database.prisma.user.count(), 2);
    } finally {
      await open.close();
    }
  });

  it("S21: when a tenant authority's discovery names another issuer or puts endpoints on another host, then the app refuses to start with a message", async (t) => {
    const harness = await startHarness();
    t.after(() => harness.close());
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-s21-'));
    t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
    for (const [fault, tenant, message] of [
      ['discovery-other-tenant-issuer', harness.idp.tenantId, /names another tenant than O365_TENANT/],
      ['discovery-foreign-endpoints', 'common', /is not on http:\/\/127\.0\.0\.1:\d+: check O365_AUTHORITY_HOST/],
    ] as const) {
      harness.idp.setFault(fault);
      // startServerAgainst closes a server that starts anyway, so a failure of this test cannot hang the file.
      const outcome = await startServerAgainst(harness, tenant, path.join(folder, `${fault}.db`));
      assert.ok(isAppError(outcome, 'discovery_mismatch') && message.test(outcome.message), `${fault}: ${String(outcome)}`);
    }
    await assertNothingWritten(harness);
  });

  it("S21: when discovery's issuer is not the v2.0 form for the configured tenant (…/common/v2.0, …/organizations/v2.0, a domain, or without /v2.0), then the app refuses to start with a message", async () => {
    const harness = await startHarness();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-s21-form-'));
    try {
      for (const [fault, tenant] of [
        ['discovery-tenant-segment-issuer', 'common'],
        ['discovery-tenant-segment-issuer', 'organizations'],
        ['discovery-tenant-segment-issuer', TENANT_DOMAIN],
        ['discovery-issuer-without-v2', 'common'],
        ['discovery-issuer-without-v2', harness.idp.tenantId],
      ] as const) {
        harness.idp.setFault(fault);
        const outcome = await startServerAgainst(harness, tenant, path.join(folder, `${fault}-${tenant}.db`));
        assert.ok(
          isAppError(outcome, 'discovery_mismatch') && /is not a Microsoft v2\.0 issuer on http:\/\/127\.0\.0\.1:\d+/.test(outcome.message),
          `${fault} with O365_TENANT=${tenant}: ${outcome instanceof Error ? outcome.message : String(outcome)}`,
        );
      }
      harness.idp.setFault(null);
      assert.equal(await startServerAgainst(harness, 'common', path.join(folder, 'genuine.db')), 'started', 'the genuine document starts');
    } finally {
      await harness.close();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** Starts `npm start`'s server against the harness's provider with this tenant: 'started' (and stops it), or the error it threw. */
async function startServerAgainst(harness: Harness, tenant: string, databaseFile: string): Promise<unknown> {
  const parsed = parseConfig({
    O365_APP_ID: TEST_APP_ID,
    O365_APP_KEY: TEST_APP_KEY,
    O365_TENANT: tenant,
    O365_AUTHORITY_HOST: harness.idp.origin,
    BASE_URL: 'http://127.0.0.1:5000',
    PORT: '0',
    DATABASE_URL: `file:${databaseFile}`,
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
  });
  assert.ok(parsed.ok);
  return startServer(parsed.config, silentLogger).then(
    async (server) => {
      await server.close();
      return 'started';
    },
    (error: unknown) => error,
  );
}
