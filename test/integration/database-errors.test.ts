import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { parseConfig } from '../../src/config.ts';
import { classifyDatabaseError } from '../../src/db/database-errors.ts';
import type { DatabaseErrorKind } from '../../src/db/database-errors.ts';
import { retryWhenBusy } from '../../src/db/database-retry.ts';
import { sql } from '../../src/db/sql.ts';
import { applyMigrations } from '../../src/db/migrations.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { startServer } from '../../src/start-server.ts';
import { startPostgresServer, testDatabaseKind } from '../../dev/postgres-server.ts';
import type { PostgresServer } from '../../dev/postgres-server.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';
import { createTestLogger, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import { HttpBrowser } from '../support/http-browser.ts';

/** The kind the classifier gives the error `attempt` rejects with (it must reject). */
async function kindOf(attempt: () => Promise<unknown>): Promise<DatabaseErrorKind | undefined> {
  try {
    await attempt();
  } catch (error) {
    return classifyDatabaseError(error);
  }
  assert.fail('the statement was expected to fail');
}

/** A first insert of a user: the second with the same (tenantId, objectId) breaks the unique key. */
const userInsert = (objectId: string) =>
  sql`INSERT INTO "User" ("id", "tenantId", "objectId", "displayName", "username", "createdAt", "updatedAt")
    VALUES (${crypto.randomUUID()}, ${'tenant'}, ${objectId}, ${'Name'}, ${'name@contoso.test'}, ${new Date()}, ${new Date()})`;

describe(`database errors by their structure (${testDatabaseKind()})`, () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.remove());

  it('when an error only says "database is locked" or "Timed out" in its text, then it is no database error: the message is never read', () => {
    for (const message of [
      'SQLITE_BUSY: database is locked',
      'Timed out',
      'SocketTimeout',
      'duplicate key value violates unique constraint',
    ]) {
      assert.equal(classifyDatabaseError(new Error(message)), undefined, message);
    }
  });

  it('when two first inserts of the same unique key race (Prisma client, direct SQL, a transaction), then the loser is "unique-violation"', async () => {
    const results = await Promise.allSettled([
      database.prisma.user.create({
        data: { id: 'race-a', tenantId: 'tenant', objectId: 'race', displayName: 'A', username: 'a@contoso.test' },
      }),
      database.prisma.user.create({
        data: { id: 'race-b', tenantId: 'tenant', objectId: 'race', displayName: 'B', username: 'b@contoso.test' },
      }),
    ]);
    const rejected = results.filter((result) => result.status === 'rejected');
    assert.equal(rejected.length, 1);
    assert.equal(classifyDatabaseError(rejected[0]!.reason), 'unique-violation');
    assert.equal(await kindOf(() => database.handle.sql.run(userInsert('race'))), 'unique-violation');
    assert.equal(
      await kindOf(() => database.handle.sql.transaction((transaction) => transaction.run(userInsert('race')))),
      'unique-violation',
    );
    await database.prisma.user.deleteMany();
  });

  it('when a statement names a table that is missing, then "failed" (a database error, not busy, not a race)', async () => {
    assert.equal(await kindOf(() => database.handle.sql.queryRows(sql`SELECT * FROM "NoSuchTable"`)), 'failed');
    assert.equal(await kindOf(() => database.prisma.$queryRawUnsafe('SELECT * FROM "NoSuchTable"')), 'failed');
  });

  // SQLite only: its single write lock and WAL snapshots; PostgreSQL has row locks.
  if (testDatabaseKind() === 'sqlite') {
    it('when another connection holds the SQLite write lock, then every way of writing fails "busy" (Prisma client, raw, direct SQL, transaction), and retryWhenBusy gets through once the lock is released', async () => {
      const release = await database.holdWriteLock();
      try {
        assert.equal(await kindOf(() => database.prisma.user.deleteMany({ where: { id: 'none' } })), 'busy');
        assert.equal(await kindOf(() => database.prisma.$executeRawUnsafe('DELETE FROM "User"')), 'busy');
        assert.equal(await kindOf(() => database.handle.sql.run(sql`DELETE FROM "User" WHERE "id" = ${'none'}`)), 'busy');
        assert.equal(
          await kindOf(() => database.handle.sql.transaction((transaction) => transaction.run(sql`DELETE FROM "User"`))),
          'busy',
        );
      } catch (error) {
        await release();
        throw error;
      }
      let attempts = 0;
      const write = retryWhenBusy(async () => {
        attempts += 1;
        // The lock goes once the first attempt has failed: the next ones find the database free.
        if (attempts === 2) await release();
        return database.handle.sql.run(userInsert('after-lock'));
      });
      assert.equal(await write, 1);
      assert.ok(attempts >= 2, 'the first attempt failed busy and was retried');
      await database.prisma.user.deleteMany();
    });

    it("when a transaction's read snapshot is overtaken by another connection's write (SQLITE_BUSY_SNAPSHOT), then \"busy\", through the adapter and through Prisma's client", async () => {
      const other = new BetterSqlite3(database.file);
      const writeElsewhere = (id: string) =>
        other.prepare(`INSERT INTO "Session" ("id", "data", "expiresAt") VALUES (?, '{}', '2031-01-01T00:00:00.000+00:00')`).run(id);
      try {
        assert.equal(
          await kindOf(() =>
            database.handle.sql.transaction(async (transaction) => {
              await transaction.queryRows(sql`SELECT count(*) AS "count" FROM "User"`);
              writeElsewhere('snapshot-1');
              await transaction.run(sql`DELETE FROM "User" WHERE "id" = ${'none'}`);
            }),
          ),
          'busy',
        );
        assert.equal(
          await kindOf(() =>
            database.prisma.$transaction(async (transaction) => {
              await transaction.user.count();
              writeElsewhere('snapshot-2');
              await transaction.user.deleteMany({ where: { id: 'none' } });
            }),
          ),
          'busy',
        );
      } finally {
        other.close();
        await database.prisma.session.deleteMany();
      }
    });
  }
});

/** Resolves once a query of another connection sleeps in pg_sleep on `databaseUrl` (it is running, not queued). */
async function untilSleeping(databaseUrl: string): Promise<void> {
  const watcher = openDatabase(databaseUrl);
  try {
    for (const deadline = Date.now() + 20_000; ; ) {
      const [row] = await watcher.prisma.$queryRaw<
        { count: bigint }[]
      >`SELECT count(*) AS count FROM pg_stat_activity WHERE wait_event = 'PgSleep'`;
      if (Number(row?.count ?? 0) > 0) return;
      if (Date.now() > deadline) assert.fail('the pg_sleep query never started');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await watcher.close();
  }
}

/** The URL with a pool of one connection: the statements of a test run on one server process, one after the other. */
function withOneConnection(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('connection_limit', '1');
  return url.href;
}

// PostgreSQL only: a server of its own, stopped, started and crashed here.
if (testDatabaseKind() === 'postgresql') {
  describe('PostgreSQL unavailable, by the structure of its errors (embedded PostgreSQL stopped, crashed, pool exhausted)', () => {
    let postgres: PostgresServer;
    let databaseUrl: string;
    before(async () => {
      postgres = await startPostgresServer();
      databaseUrl = await postgres.createDatabase();
      await applyMigrations(databaseUrl);
    });
    after(async () => {
      await postgres.close();
    });

    it('when every pooled connection stays taken past the wait, then "unavailable" (no connection: 08001), through the client, raw and in a transaction, and never retried', async () => {
      const database = openDatabase(withOneConnection(databaseUrl));
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding: Promise<unknown> | undefined;
      try {
        let taken!: () => void;
        const isTaken = new Promise<void>((resolve) => {
          taken = resolve;
        });
        holding = database.prisma.$transaction(
          async (transaction) => {
            await transaction.user.count();
            taken();
            await held;
          },
          { timeout: 60_000 },
        );
        await isTaken;
        assert.equal(await kindOf(() => database.prisma.user.findMany()), 'unavailable');
        assert.equal(await kindOf(() => database.sql.queryRows(sql`SELECT 1 AS "one"`)), 'unavailable');
        let attempts = 0;
        assert.equal(
          await kindOf(() =>
            retryWhenBusy(() => {
              attempts += 1;
              return database.sql.transaction((transaction) => transaction.queryRows(sql`SELECT 1 AS "one"`));
            }),
          ),
          'unavailable',
        );
        assert.equal(attempts, 1, 'an unavailable database is not retried like a held lock');
      } finally {
        release();
        await holding;
        await database.close();
      }
    });

    it('when the connection dies under a query (its server process killed), then "unavailable" (08006), and the client connects again', async () => {
      const database = openDatabase(withOneConnection(databaseUrl));
      try {
        const [{ pid }] = (await database.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
        const inFlight = kindOf(() => database.prisma.$queryRaw`SELECT pg_sleep(30)::text`);
        await untilSleeping(databaseUrl);
        process.kill(pid, 'SIGKILL');
        assert.equal(await inFlight, 'unavailable');
        // PostgreSQL restarts its processes after one crashed: the pool connects again once it accepts connections.
        for (const deadline = Date.now() + 20_000; ; ) {
          try {
            assert.equal(await database.prisma.user.count(), 0);
            break;
          } catch (error) {
            assert.equal(classifyDatabaseError(error), 'unavailable', String(error));
            if (Date.now() > deadline) assert.fail('PostgreSQL did not come back after the crash');
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      } finally {
        await database.close();
      }
    });

    it('when PostgreSQL stops, then a query in flight (57P01) and the next ones (connection refused) are "unavailable", and a page is the 503 page; when it is back, then the same process serves again', async () => {
      const idp = await startIdentityProvider({
        port: 0,
        clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: ['http://127.0.0.1:5699/connect/get_token'] }],
      });
      const parsed = parseConfig({
        O365_APP_ID: TEST_APP_ID,
        O365_APP_KEY: TEST_APP_KEY,
        O365_AUTHORITY_HOST: idp.origin,
        BASE_URL: 'http://127.0.0.1:5699',
        PORT: '0',
        DATABASE_URL: databaseUrl,
        SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      });
      assert.ok(parsed.ok);
      const logs: string[] = [];
      const server = await startServer(parsed.config, createTestLogger(logs));
      const database = openDatabase(databaseUrl);
      try {
        const browser = new HttpBrowser();
        assert.equal((await browser.request(`${server.url}/connect`)).status, 302);
        const inFlight = kindOf(() => database.prisma.$queryRaw`SELECT pg_sleep(30)::text`);
        await untilSleeping(databaseUrl);
        await postgres.stop();
        assert.equal(await inFlight, 'unavailable');
        assert.equal(await kindOf(() => database.prisma.user.count()), 'unavailable');
        assert.equal(await kindOf(() => database.sql.queryRows(sql`SELECT 1 AS "one"`)), 'unavailable');

        const page = await browser.request(`${server.url}/connect`);
        assert.equal(page.status, 503);
        assert.match(page.body, /cannot reach its database/);
        assert.ok(
          logs.some((line) => line.includes('"kind":"storage_unavailable"')),
          'the failure is logged as the database being unavailable',
        );
        await postgres.start();
        assert.equal((await browser.request(`${server.url}/connect`)).status, 302, 'the same process serves again');
        assert.equal(await database.prisma.user.count(), 0, 'the same client works again');
      } finally {
        await database.close();
        await server.close();
        await idp.close();
      }
    });
  });
}
