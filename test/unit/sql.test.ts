import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/open-database.ts';
import { openStoreDatabase } from '../../src/db/open-store-database.ts';
import type { StoreDatabase } from '../../src/db/database.ts';
import { sql, sqlThroughPrismaClient } from '../../src/db/sql.ts';
import type { SqlDatabase } from '../../src/db/sql.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';

describe(`the SQL seam: the direct path, the store database and the fallback through Prisma's client (${testDatabaseKind()})`, () => {
  let database: TestDatabase;
  /** The seam as the app uses it (on SQLite the direct path once the client has connected; the fallback on PostgreSQL). */
  let app: SqlDatabase;
  /** The fallback alone: `$queryRaw`, `$executeRaw` and `$transaction` of Prisma's client. */
  let fallback: SqlDatabase;
  /** The database the server and `npm run token` open (on SQLite no Prisma client at all: the direct path from the start). */
  let storeDatabase: StoreDatabase;
  let store: SqlDatabase;
  before(async () => {
    database = await createTestDatabase();
    app = database.handle.sql;
    fallback = sqlThroughPrismaClient(database.prisma);
    storeDatabase = await openStoreDatabase(database.url);
    store = storeDatabase.sql;
  });
  after(async () => {
    await storeDatabase.close();
    await database.remove();
  });

  const readSession = (seam: SqlDatabase, id: string) =>
    seam.queryRows(sql`SELECT "id", "data", "expiresAt", "destroyed" FROM "Session" WHERE "id" = ${id}`);
  const insertSession = (id: string, expiresAt: Date, destroyed: boolean) =>
    sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed") VALUES (${id}, ${'{"a":1}'}, ${expiresAt}, ${destroyed})`;

  it("when a fresh database runs its first statement (through the client) and then the next ones, then every path gives what Prisma's query builder gives", async () => {
    const expiresAt = new Date('2031-01-02T03:04:05.678Z');
    const fresh = openDatabase(database.url);
    try {
      const first = await readSession(fresh.sql, 'missing');
      assert.deepEqual(first, []);
      assert.equal(await fresh.sql.run(insertSession('s1', expiresAt, true)), 1);
      const viaBuilder = await database.prisma.session.findUnique({
        where: { id: 's1' },
        select: { id: true, data: true, expiresAt: true, destroyed: true },
      });
      for (const seam of [fresh.sql, app, store, fallback]) assert.deepEqual(await readSession(seam, 's1'), [viaBuilder]);
      assert.deepEqual(viaBuilder, { id: 's1', data: '{"a":1}', expiresAt, destroyed: true });
    } finally {
      await fresh.close();
    }
  });

  it('when either path writes a date and a boolean, then the query builder compares and reads them as its own', async () => {
    for (const [seam, id] of [
      [app, 's2'],
      [fallback, 's3'],
      [store, 's4'],
    ] as const) {
      const expiresAt = new Date(Date.now() + 60_000);
      assert.equal(await seam.run(insertSession(id, expiresAt, false)), 1);
      assert.equal(
        await database.prisma.session.count({
          where: { id, destroyed: false, expiresAt: { gt: new Date(), lt: new Date(Date.now() + 120_000) } },
        }),
        1,
        id,
      );
      await database.prisma.session.update({ where: { id }, data: { destroyed: true } });
      assert.equal(await seam.run(sql`UPDATE "Session" SET "data" = ${'{"b":2}'} WHERE "id" = ${id} AND "destroyed" = ${false}`), 0);
      assert.deepEqual(await readSession(seam, id), [{ id, data: '{"a":1}', expiresAt, destroyed: true }]);
    }
  });

  it('when the work of a transaction throws after a write, then nothing of it stays; when it resolves, then all of it stays (every path)', async () => {
    for (const [seam, id] of [
      [app, 'app'],
      [fallback, 'fallback'],
      [store, 'store'],
    ] as const) {
      await assert.rejects(
        seam.transaction(async (transaction) => {
          await transaction.run(insertSession(`rolled-back-${id}`, new Date(), false));
          assert.equal((await transaction.queryRows(sql`SELECT "id" FROM "Session" WHERE "id" = ${`rolled-back-${id}`}`)).length, 1);
          throw new Error('the second step failed');
        }),
        /the second step failed/,
      );
      assert.equal(await database.prisma.session.count({ where: { id: `rolled-back-${id}` } }), 0, id);
      const kept = await seam.transaction((transaction) => transaction.run(insertSession(`committed-${id}`, new Date(), false)));
      assert.equal(kept, 1);
      assert.equal(await database.prisma.session.count({ where: { id: `committed-${id}` } }), 1, id);
    }
  });

  it('when a statement holds another (a list of columns) with values of its own, then all values are sent in order as parameters', async () => {
    const columns = sql`"id", ${'x'} AS "marker"`;
    for (const seam of [app, store, fallback]) {
      const rows = await seam.queryRows(sql`SELECT ${columns}, "data" FROM "Session" WHERE "id" = ${'s1'}`);
      assert.deepEqual(rows, [{ id: 's1', marker: 'x', data: '{"a":1}' }]);
    }
  });

  it("when one call site holds the same statement again, then it gives the same text with this call's values; when it holds another statement, then that one's text", async () => {
    const marked = sql`"id", ${'x'} AS "marker"`;
    const plain = sql`"id", "expiresAt" AS "marker"`;
    const select = (columns: ReturnType<typeof sql>, id: string) => sql`SELECT ${columns}, "data" FROM "Session" WHERE "id" = ${id}`;
    const first = select(marked, 's1');
    const again = select(marked, 'none');
    assert.equal(again.strings, first.strings, 'the same strings, so the driver text is built once');
    assert.deepEqual(again.values, ['x', 'none']);
    const other = select(plain, 's1');
    assert.notEqual(other.strings, first.strings);
    assert.deepEqual([...other.strings], ['SELECT "id", "expiresAt" AS "marker", "data" FROM "Session" WHERE "id" = ', '']);
    for (const seam of [app, store, fallback]) {
      assert.deepEqual(await seam.queryRows(again), []);
      assert.deepEqual(await seam.queryRows(select(marked, 's1')), [{ id: 's1', marker: 'x', data: '{"a":1}' }]);
      const [row] = await seam.queryRows(other);
      assert.ok(row?.marker instanceof Date, "the other statement's column, not the remembered one");
    }
  });

  it('when a value looks like SQL, then it is sent as a parameter, never spliced', async () => {
    const hostile = `x' OR '1'='1`;
    for (const seam of [app, store, fallback]) assert.deepEqual(await readSession(seam, hostile), []);
  });

  it('when the store database was closed, then its next statement connects again and sees the same rows', async () => {
    const reopened = await openStoreDatabase(database.url);
    assert.equal(await reopened.sql.run(insertSession('s5', new Date('2031-01-01T00:00:00.000Z'), false)), 1);
    await reopened.close();
    assert.deepEqual(await readSession(reopened.sql, 's5'), [
      { id: 's5', data: '{"a":1}', expiresAt: new Date('2031-01-01T00:00:00.000Z'), destroyed: false },
    ]);
    await reopened.close();
  });
});
