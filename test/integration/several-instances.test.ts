import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { DatabaseRateLimitStore } from '../../src/db/rate-limit-store.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import type { AppInstance } from '../support/instances.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';

describe(`the sign-in rate limit's database store (${testDatabaseKind()})`, () => {
  let harness: Harness;
  let other: AppInstance;
  before(async () => {
    harness = await startHarness({ env: { SIGN_IN_RATE_LIMIT: '6' } });
    other = await startInstance(harness);
  });
  after(async () => {
    await other.close();
    await harness.close();
  });

  if (testDatabaseKind() === 'sqlite') {
    it('when the app runs on SQLite (one instance), then it counts sign-ins in memory and writes no counter', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await harness.browser().request(`${harness.baseUrl}/connect`)).status);
      assert.deepEqual(statuses, [...Array(6).fill(302), 429]);
      assert.equal(await harness.database.prisma.rateLimitHit.count(), 0);
    });
  } else {
    it('S49: when one address spreads its sign-ins over two instances, then both count them and the 7th gets a 429 on either; a minute later it may sign in again', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) {
        const origin = i % 2 === 0 ? harness.baseUrl : other.baseUrl;
        statuses.push((await harness.browser().request(`${origin}/connect`)).status);
      }
      assert.deepEqual(statuses, Array(6).fill(302));
      assert.equal((await harness.browser().request(`${harness.baseUrl}/connect`)).status, 429);
      assert.equal((await harness.browser().request(`${other.baseUrl}/connect`)).status, 429);

      harness.clock.advance(61 * 1000);
      assert.equal((await harness.browser().request(`${other.baseUrl}/connect`)).status, 302, 'a new window');
      const row = await harness.database.prisma.rateLimitHit.findFirstOrThrow();
      assert.equal(row.hits, 1);
    });
  }

  it('S49: when 40 hits of one key arrive at once through two stores, then the counter is exactly 40; ended windows are purged, open ones kept', async () => {
    const options = { prefix: 'test:', logger: silentLogger, now: harness.clock.now };
    const stores = [
      new DatabaseRateLimitStore(harness.database.handle.sql, options),
      new DatabaseRateLimitStore(harness.database.handle.sql, options),
    ];
    try {
      for (const store of stores) store.init({ windowMs: 60_000 } as Parameters<DatabaseRateLimitStore['init']>[0]);
      const results = await Promise.all(Array.from({ length: 40 }, (_, index) => stores[index % 2]!.increment('203.0.113.9')));
      assert.deepEqual(
        results.map((result) => result.totalHits).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, index) => index + 1),
        'every hit saw its own count',
      );
      assert.equal((await stores[1]!.get('203.0.113.9'))?.totalHits, 40);

      await stores[0]!.increment('198.51.100.7');
      harness.clock.advance(61 * 1000);
      await stores[0]!.increment('198.51.100.8');
      const ended = await harness.database.prisma.rateLimitHit.count({ where: { resetAt: { lte: new Date(harness.clock.now()) } } });
      assert.ok(ended >= 2);
      const purged = await Promise.all([stores[0]!.purgeExpired(), stores[1]!.purgeExpired()]);
      assert.equal(purged[0] + purged[1], ended, 'two purges at once delete each ended window once');
      assert.deepEqual(
        (await harness.database.prisma.rateLimitHit.findMany({ where: { key: { startsWith: 'test:' } } })).map((row) => row.key),
        ['test:198.51.100.8'],
      );
    } finally {
      for (const store of stores) store.shutdown();
    }
  });
});

describe(`every page names the instance that served it (${testDatabaseKind()})`, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ env: { INSTANCE_NAME: 'web-1' } });
  });
  after(async () => {
    await harness.close();
  });

  it('when INSTANCE_NAME is set, then the home page, an error page and a page refused before the app carry it in the footer', async () => {
    const label = /<footer class="site-footer">[\s\S]*Served by instance <code data-instance>web-1<\/code>[\s\S]*<\/footer>/;
    assert.match((await harness.browser().request(`${harness.baseUrl}/`)).body, label);
    const missing = await harness.browser().request(`${harness.baseUrl}/no-such-page`);
    assert.equal(missing.status, 404);
    assert.match(missing.body, label);
    const refused = await fetch(`${harness.baseUrl}/`, { headers: { 'x-filler': 'a'.repeat(40 * 1024) } });
    assert.equal(refused.status, 431);
    assert.match(await refused.text(), label);
  });
});
