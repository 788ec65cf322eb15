import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/open-database.ts';
import type { Database } from '../../src/db/database.ts';
import { queryRows, runStatement, runTransaction, sql } from '../../src/db/direct-sql.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';

describe('direct SQL on the driver adapter', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.remove());

  const readSession = (client: Database, id: string) =>
    queryRows(client, sql`SELECT "id", "data", "expiresAt", "destroyed" FROM "Session" WHERE "id" = ${id}`);

  it("when a fresh client runs its first statement (through $queryRaw) and then the next ones (on the adapter), then both give what Prisma's query builder gives", async () => {
    const expiresAt = new Date('2031-01-02T03:04:05.678Z');
    const fresh = openDatabase(database.url);
    try {
      const [throughClient] = await readSession(fresh, 'missing').then(async () => {
        await runStatement(
          fresh,
          sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed") VALUES (${'s1'}, ${'{"a":1}'}, ${expiresAt}, ${true})`,
        );
        return readSession(fresh, 's1');
      });
      const viaBuilder = await database.prisma.session.findUnique({
        where: { id: 's1' },
        select: { id: true, data: true, expiresAt: true, destroyed: true },
      });
      assert.deepEqual(throughClient, viaBuilder);
      assert.deepEqual(throughClient, { id: 's1', data: '{"a":1}', expiresAt, destroyed: true });
    } finally {
      await fresh.$disconnect();
    }
    const first = openDatabase(database.url);
    try {
      const [viaFallback] = await readSession(first, 's1');
      const [viaAdapter] = await readSession(first, 's1');
      assert.deepEqual(viaFallback, viaAdapter);
    } finally {
      await first.$disconnect();
    }
  });

  it('when the adapter writes a date and a boolean, then the query builder compares and reads them as its own', async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    await readSession(database.prisma, 'warm-up');
    assert.equal(
      await runStatement(
        database.prisma,
        sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed") VALUES (${'s2'}, ${'{}'}, ${expiresAt}, ${false})`,
      ),
      1,
    );
    assert.equal(
      await database.prisma.session.count({
        where: { id: 's2', destroyed: false, expiresAt: { gt: new Date(), lt: new Date(Date.now() + 120_000) } },
      }),
      1,
    );
    await database.prisma.session.update({ where: { id: 's2' }, data: { destroyed: true } });
    assert.equal(
      await runStatement(database.prisma, sql`UPDATE "Session" SET "data" = ${'{"b":2}'} WHERE "id" = ${'s2'} AND "destroyed" = ${false}`),
      0,
    );
    assert.deepEqual(await readSession(database.prisma, 's2'), [{ id: 's2', data: '{}', expiresAt, destroyed: true }]);
  });

  it('when the work of a transaction throws after a write, then nothing of it stays, on the adapter and through the client', async () => {
    const fresh = openDatabase(database.url);
    try {
      for (const [client, id] of [
        [fresh, 'rolled-back-1'],
        [fresh, 'rolled-back-2'],
        [database.prisma, 'rolled-back-3'],
      ] as const) {
        await assert.rejects(
          runTransaction(client, async (transaction) => {
            await transaction.runStatement(
              sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed") VALUES (${id}, ${'{}'}, ${new Date()}, ${false})`,
            );
            assert.equal((await transaction.queryRows(sql`SELECT "id" FROM "Session" WHERE "id" = ${id}`)).length, 1);
            throw new Error('the second step failed');
          }),
          /the second step failed/,
        );
        assert.equal(await database.prisma.session.count({ where: { id } }), 0, id);
      }
      const kept = await runTransaction(database.prisma, async (transaction) =>
        transaction.runStatement(
          sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed") VALUES (${'committed'}, ${'{}'}, ${new Date()}, ${false})`,
        ),
      );
      assert.equal(kept, 1);
      assert.equal(await database.prisma.session.count({ where: { id: 'committed' } }), 1);
    } finally {
      await fresh.$disconnect();
    }
  });

  it('when a value looks like SQL, then it is sent as a parameter, never spliced', async () => {
    const hostile = `x' OR '1'='1`;
    assert.deepEqual(await readSession(database.prisma, hostile), []);
  });
});
