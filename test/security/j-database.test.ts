import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { startHarness } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import type { Harness } from '../support/harness.ts';
import type { Page } from '../support/http-browser.ts';
import { assertNothingHappened, resetHarness } from '../support/outcomes.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';

describe('J. database faults', () => {
  let harness: Harness;
  let second: BetterSqlite3.Database | undefined;
  before(async () => {
    harness = await startHarness({ busyTimeoutMs: 200 });
    if (harness.database.kind === 'sqlite') second = new BetterSqlite3(harness.database.file);
  });
  after(async () => {
    second?.close();
    await harness.close();
  });
  beforeEach(async () => {
    harness.idp.setTokenRequestHook(null);
    await resetHarness(harness);
  });

  it('S42: when the database becomes unavailable right after a successful code exchange, then a 503 "try again" page, not signed in, and the tokens are parked neither in the session nor in the logs', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    // The table goes away while the token endpoint answers: after the session was read, before the sign-in is stored.
    harness.idp.setTokenRequestHook(() => harness.database.execute('ALTER TABLE "User" RENAME TO "User_offline"'));
    let page: Page;
    try {
      page = await browser.request(callbackUrl);
    } finally {
      harness.idp.setTokenRequestHook(null);
      await harness.database.execute('ALTER TABLE "User_offline" RENAME TO "User"');
    }
    assert.equal(page.status, 503);
    assert.match(page.body, /could not save your sign-in/);
    assert.match(page.body, /Try again/);
    const issued = harness.idp.issuedAccessTokens.at(-1)!;
    assert.ok(issued, 'the exchange itself succeeded');
    const sessions = await harness.database.prisma.session.findMany();
    for (const secret of harness.idp.issuedSecrets) {
      assert.ok(
        sessions.every((row) => !row.data.includes(secret)),
        'nothing parked in the session',
      );
      assert.ok(!harness.logs.join('\n').includes(secret), 'nothing in the logs');
    }
    await assertNothingHappened(harness, browser);
  });

  // SQLite only: PostgreSQL has row locks and no "database is busy" state.
  if (testDatabaseKind() === 'sqlite')
    it('S43: when SQLite stays busy (another connection holds an exclusive lock), then a bounded retry and a 503 page; when the lock clears during the retries, the sign-in succeeds', async () => {
      const lock = second!;
      const browser = harness.browser();
      const callbackUrl = await harness.authorize(browser);
      harness.idp.setTokenRequestHook(() => lock.exec('BEGIN EXCLUSIVE'));
      let page: Page;
      const started = Date.now();
      try {
        page = await browser.request(callbackUrl);
      } finally {
        if (lock.inTransaction) lock.exec('ROLLBACK');
      }
      assert.equal(page.status, 503);
      assert.match(page.body, /Try again/);
      assert.ok(Date.now() - started < 20_000, 'bounded');
      await assertNothingHappened(harness, browser);

      const retried = harness.browser();
      const retriedCallback = await harness.authorize(retried);
      harness.idp.setTokenRequestHook(() => {
        lock.exec('BEGIN EXCLUSIVE');
        setTimeout(() => {
          if (lock.inTransaction) lock.exec('ROLLBACK');
        }, 100);
      });
      assert.equal((await retried.request(retriedCallback)).status, 303, 'a later attempt got through');
      assert.equal(await harness.database.prisma.user.count(), 1);
    });

  it('S43: when two first sign-ins of the same user arrive at once on two app instances sharing the database, then one user row', async () => {
    const second = await startInstance(harness, { busyTimeoutMs: 2000 });
    try {
      const browsers = [harness.browser(), harness.browser(), harness.browser(), harness.browser()];
      const callbacks = await Promise.all(browsers.map((browser) => harness.authorize(browser)));
      const pages = await Promise.all(
        callbacks.map((callbackUrl, index) => {
          return browsers[index]!.request(index % 2 === 1 ? second.urlOf(callbackUrl) : callbackUrl);
        }),
      );
      assert.deepEqual(
        pages.map((page) => page.status),
        [303, 303, 303, 303],
      );
      assert.equal(await harness.database.prisma.user.count(), 1);
      assert.equal(await harness.database.prisma.tokenSet.count(), 1);
    } finally {
      await second.close();
    }
  });
});
