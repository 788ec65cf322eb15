import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../../src/db/open-database.ts';
import { silentLogger } from '../../src/log.ts';
import { composeServices } from '../../src/composition-root.ts';
import { createTokenService, isRefreshError, refreshProblemOf } from '../../src/tokens/token-service.ts';
import type { RefreshProblem } from '../../src/tokens/token-service.ts';
import type { Harness } from '../support/harness.ts';
import { signIn, useHarness } from '../support/outcomes.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';

/** The statement that takes a token set's refresh lease (acquireRefreshLease), on SQLite and PostgreSQL alike. */
const LEASE_ATTEMPT = /^\s*UPDATE\b.*TokenSet.*\bSET\s+.refreshLeaseUntil.\s*=.*\bWHERE\b.*needsSignIn/s;

/** The refresh failed with this catalogue code, which tells the caller to sign in again or to try later. */
function failedWith(code: string, problem: RefreshProblem) {
  return (error: unknown) => isRefreshError(error) && error.code === code && refreshProblemOf(error) === problem;
}

/** Holds each caller's first read of the tokens until `callers` reads have been made, so the callers overlap for sure. */
function readBarrier(callers: number): { wait(): Promise<void> } {
  let reads = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    wait() {
      reads += 1;
      if (reads === callers) open();
      return opened;
    },
  };
}

describe('H. refresh', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  async function signedInUserId(): Promise<string> {
    const { callback } = await signIn(harness);
    assert.equal(callback.status, 303);
    return (await harness.database.prisma.user.findFirstOrThrow()).id;
  }

  /**
   * A token service of its own (as another process would have) on `database`, whose reads of the tokens wait at `barrier`:
   * without it, on PostgreSQL one caller's read can come back after another's refresh has ended, and then a forced
   * refresh of its own is right, not a race.
   */
  function tokenServiceBehind(barrier: { wait(): Promise<void> }, database = harness.database.handle) {
    const services = composeServices(harness.config, database, silentLogger, { now: harness.clock.now });
    return createTokenService({
      config: harness.config,
      discovery: services.discovery,
      verifier: services.verifier,
      tokenStore: {
        ...services.tokenStore,
        loadSignIn: async (id: string) => {
          const signIn = await services.tokenStore.loadSignIn(id);
          await barrier.wait();
          return signIn;
        },
      },
      logger: silentLogger,
      now: harness.clock.now,
    });
  }

  it('S36: when a refresh succeeds, then the access and (rotated) refresh tokens are replaced in one row update and the newest refresh token works next time', async () => {
    const userId = await signedInUserId();
    const before = await readStoredTokens(harness);
    await harness.app.tokenService.getFreshTokens(userId, { force: true });
    const after = await readStoredTokens(harness);
    assert.notEqual(after.accessToken, before.accessToken);
    assert.notEqual(after.refreshToken, before.refreshToken, 'Microsoft rotated the refresh token; the new one is kept');
    assert.equal(await harness.database.prisma.tokenSet.count(), 1);
    const count = harness.idp.tokenRequestCount();
    await harness.app.tokenService.getFreshTokens(userId, { force: true });
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.notEqual((await readStoredTokens(harness)).accessToken, after.accessToken, 'the stored refresh token was the live one');
  });

  it('S36: when two refreshes for one user run at once, then one call goes upstream and both get the same token', async () => {
    const userId = await signedInUserId();
    const tokenService = tokenServiceBehind(readBarrier(3));
    const count = harness.idp.tokenRequestCount();
    const results = await Promise.all([1, 2, 3].map(() => tokenService.getFreshTokens(userId, { force: true })));
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal(new Set(results.map((result) => result.tokens.accessToken)).size, 1);
    assert.equal((await readStoredTokens(harness)).accessToken, results[0]!.tokens.accessToken);
  });

  it('S36: when three refreshes for one user run at once in one process, then they share one flight: the lease is taken once, not raced for', async () => {
    const userId = await signedInUserId();
    const tokenService = tokenServiceBehind(readBarrier(3));
    const mark = harness.database.statements.length;
    const results = await Promise.all([1, 2, 3].map(() => tokenService.getFreshTokens(userId, { force: true })));
    const leaseAttempts = harness.database.statements.slice(mark).filter((sql) => LEASE_ATTEMPT.test(sql));
    assert.equal(leaseAttempts.length, 1, `lease statements: ${leaseAttempts.join(' | ')}`);
    assert.equal(new Set(results.map((result) => result.tokens.accessToken)).size, 1, 'all three have its result');
  });

  it('S37: when the refresh answers invalid_grant, then the page says "sign in again", the user is kept, and later pages make no further call', async () => {
    const browser = harness.browser();
    assert.equal((await browser.request(await harness.authorize(browser))).status, 303);
    const { seal } = await readStoredTokens(harness);
    await harness.database.prisma.tokenSet.updateMany({
      data: { refreshToken: seal('refreshToken', 'revoked-refresh-token'), expiresAt: new Date(Date.now() - 1000) },
    });
    const count = harness.idp.tokenRequestCount();
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Sign in again/);
    assert.match(page.body, /no longer accepts the stored refresh token/);
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal((await harness.database.prisma.tokenSet.findFirstOrThrow()).needsSignIn, true);
    assert.equal(await harness.database.prisma.user.count(), 1, 'nothing else is lost');
    for (let i = 0; i < 5; i += 1) await browser.request(`${harness.baseUrl}/`);
    const userId = (await harness.database.prisma.user.findFirstOrThrow()).id;
    await assert.rejects(
      harness.app.tokenService.getFreshTokens(userId, { force: true }),
      failedWith('refresh_refused_before', 'needs_sign_in'),
    );
    assert.equal(harness.idp.tokenRequestCount(), count + 1, 'no retry storm');
  });

  it('S36: when two processes sharing the database refresh one user at once, then the refresh token is spent once and both get the new token', async () => {
    const userId = await signedInUserId();
    const otherProcessDatabase = openDatabase(harness.database.url);
    try {
      const barrier = readBarrier(2);
      const thisProcess = tokenServiceBehind(barrier);
      const otherProcess = tokenServiceBehind(barrier, otherProcessDatabase);
      const count = harness.idp.tokenRequestCount();
      const [here, there] = await Promise.all([
        thisProcess.getFreshTokens(userId, { force: true }),
        otherProcess.getFreshTokens(userId, { force: true }),
      ]);
      assert.equal(harness.idp.tokenRequestCount(), count + 1);
      assert.equal(here.tokens.accessToken, there.tokens.accessToken);
      assert.equal([here.refreshed, there.refreshed].filter(Boolean).length, 1, 'one redeemed, the other waited for its result');
      assert.equal((await readStoredTokens(harness)).accessToken, here.tokens.accessToken);
      assert.equal((await harness.database.prisma.tokenSet.findFirstOrThrow()).refreshLeaseUntil, null, 'the lease is given back');
    } finally {
      await otherProcessDatabase.close();
    }
  });

  it('S36: when another process finished a refresh between this one reading the tokens and taking the lease, then this one uses its result and never redeems the spent refresh token', async () => {
    const userId = await signedInUserId();
    const otherProcessDatabase = openDatabase(harness.database.url);
    try {
      const other = composeServices(harness.config, otherProcessDatabase, silentLogger, { now: harness.clock.now });
      const staleRead = await other.tokenStore.loadSignIn(userId);
      // The other process read the tokens just before this refresh; it sees that stale read once.
      let served = false;
      const lateStore = {
        ...other.tokenStore,
        loadSignIn: async (id: string) => {
          if (!served) {
            served = true;
            return staleRead;
          }
          return other.tokenStore.loadSignIn(id);
        },
      };
      const late = createTokenService({
        config: harness.config,
        discovery: other.discovery,
        verifier: other.verifier,
        tokenStore: lateStore,
        logger: silentLogger,
        now: harness.clock.now,
      });
      const refreshed = await harness.app.tokenService.getFreshTokens(userId, { force: true });
      const count = harness.idp.tokenRequestCount();
      const result = await late.getFreshTokens(userId, { force: true });
      assert.equal(harness.idp.tokenRequestCount(), count, 'no second redemption');
      assert.equal(result.refreshed, false);
      assert.equal(result.tokens.accessToken, refreshed.tokens.accessToken);
      assert.equal((await harness.database.prisma.tokenSet.findFirstOrThrow()).refreshLeaseUntil, null);
    } finally {
      await otherProcessDatabase.close();
    }
  });

  it('S36: when the refreshed ID token cannot be verified, then the new access and refresh tokens are still kept (the old refresh token is spent) and the previous ID token stays', async () => {
    const userId = await signedInUserId();
    const before = await readStoredTokens(harness);
    const idTokenBefore = (await harness.app.tokenService.getFreshTokens(userId)).tokens.idToken;
    harness.idp.setFault('id-token-bad-signature');
    const result = await harness.app.tokenService.getFreshTokens(userId, { force: true });
    harness.idp.setFault(null);
    const after = await readStoredTokens(harness);
    assert.equal(result.refreshed, true);
    assert.notEqual(after.accessToken, before.accessToken);
    assert.notEqual(after.refreshToken, before.refreshToken);
    assert.equal(result.tokens.idToken, idTokenBefore);
  });

  for (const [fault, who] of [
    ['id-token-other-user', 'another oid in the same tenant'],
    ['id-token-other-tenant', 'the same oid in another tenant'],
  ] as const) {
    it(`S36: when a refresh answers with another user's ID token (${who}), then none of its tokens is stored: the previous ones stay and the set needs a new sign-in`, async () => {
      const userId = await signedInUserId();
      const before = await readStoredTokens(harness);
      harness.idp.setFault(fault);
      await assert.rejects(
        harness.app.tokenService.getFreshTokens(userId, { force: true }),
        failedWith('refresh_for_another_user', 'needs_sign_in'),
      );
      harness.idp.setFault(null);
      const after = await readStoredTokens(harness);
      assert.equal(after.accessToken, before.accessToken);
      assert.equal(after.refreshToken, before.refreshToken);
      assert.equal(after.row.idToken, before.row.idToken);
      assert.equal(after.row.needsSignIn, true);
      assert.equal(after.row.refreshLeaseUntil, null, 'the lease is given back');
      assert.equal(await harness.database.prisma.user.count(), 1, 'no row for the other user');
    });
  }

  it('S37: when a refresh fails for a passing reason (token endpoint 500), then nothing changes, the lease is given back, and the next call tries again', async () => {
    const userId = await signedInUserId();
    const before = await readStoredTokens(harness);
    harness.idp.setFault('token-server-error');
    await assert.rejects(
      harness.app.tokenService.getFreshTokens(userId, { force: true }),
      failedWith('refresh_unavailable', 'unavailable'),
    );
    harness.idp.setFault(null);
    const row = await harness.database.prisma.tokenSet.findFirstOrThrow();
    assert.equal(row.needsSignIn, false);
    assert.equal(row.refreshLeaseUntil, null);
    assert.equal((await readStoredTokens(harness)).refreshToken, before.refreshToken);
    assert.equal((await harness.app.tokenService.getFreshTokens(userId, { force: true })).refreshed, true);
  });
});
