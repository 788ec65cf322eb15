import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import { observeAdapterStatements } from '../../src/db/prisma-adapter-internals.ts';
import { isUniqueRace } from '../../src/db/database-errors.ts';
import { sql, sqlOnDriverAdapter } from '../../src/db/sql.ts';
import type { SqlDatabase } from '../../src/db/sql.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kind = testDatabaseKind();

/**
 * The upgrade tripwire: what src/db/prisma-adapter-internals.ts relies on in Prisma's driver-adapter interface (written
 * for adapter authors, versioned with Prisma). When a Prisma upgrade changes it, one of these fails and names it.
 */
describe(`what the direct SQL path relies on in Prisma's driver adapters (${kind})`, () => {
  let database: TestDatabase;
  /** A bare adapter of the kind under test, connected without a client, every statement it runs recorded. */
  let adapter: SqlDriverAdapter;
  let direct: SqlDatabase;
  const adapterStatements: string[] = [];
  before(async () => {
    database = await createTestDatabase();
    adapter =
      kind === 'sqlite'
        ? await new PrismaBetterSQLite3({ url: database.url }).connect()
        : await new PrismaPg({ connectionString: database.url }).connect();
    observeAdapterStatements(adapter, (statement) => adapterStatements.push(statement));
    direct = sqlOnDriverAdapter(adapter);
    await database.prisma.session.create({
      data: { id: 'typed', data: '{}', expiresAt: new Date('2031-05-06T07:08:09.123Z'), destroyed: true, userId: null },
    });
    await database.prisma.rateLimitHit.create({ data: { key: 'k', hits: 7, resetAt: new Date('2031-01-01T00:00:00.000Z') } });
  });
  after(async () => {
    await adapter.dispose();
    await database.remove();
  });

  it('when the project is installed, then Prisma (client, CLI, adapters, adapter utils) is pinned to one exact version, the one installed', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const pinned = Object.entries({ ...manifest.dependencies, ...manifest.devDependencies }).filter(
      ([name]) => name === 'prisma' || name.startsWith('@prisma/'),
    );
    assert.deepEqual(pinned.map(([name]) => name).sort(), [
      '@prisma/adapter-better-sqlite3',
      '@prisma/adapter-pg',
      '@prisma/client',
      '@prisma/driver-adapter-utils',
      'prisma',
    ]);
    const versions = new Set(pinned.map(([, version]) => version));
    assert.equal(versions.size, 1, `one version for all: ${JSON.stringify(pinned)}`);
    const [version] = [...versions];
    assert.match(version ?? '', /^\d+\.\d+\.\d+$/, 'an exact version, no range');
    for (const [name] of pinned) {
      const installed = JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      assert.equal(installed.version, version, `${name} installed`);
    }
  });

  it('when the adapter reads booleans, timestamps and integers, then it reports the column types the decoder switches on (Boolean, DateTime, Int32/Int64 of @prisma/driver-adapter-utils)', async () => {
    const session = await adapter.queryRaw({
      sql: 'SELECT "destroyed", "expiresAt", "data" FROM "Session" WHERE "id" = \'typed\'',
      args: [],
      argTypes: [],
    });
    assert.deepEqual(session.columnTypes, [ColumnTypeEnum.Boolean, ColumnTypeEnum.DateTime, ColumnTypeEnum.Text]);
    const hit = await adapter.queryRaw({ sql: 'SELECT "hits" FROM "RateLimitHit"', args: [], argTypes: [] });
    assert.ok(
      [ColumnTypeEnum.Int32, ColumnTypeEnum.Int64].includes(hit.columnTypes[0] as never),
      `an integer column's type: ${hit.columnTypes[0]}`,
    );
  });

  it("when every table is read whole on the direct path, then each row is what Prisma's client gives for it (every column type of the schema decoded)", async () => {
    const { prisma } = database;
    const at = new Date('2031-02-03T04:05:06.789Z');
    const user = await prisma.user.create({
      data: { id: 'u1', tenantId: 't', objectId: 'o', displayName: 'D', username: 'u@contoso.test', createdAt: at, updatedAt: at },
    });
    await prisma.tokenSet.create({
      data: {
        id: 'ts1',
        userId: user.id,
        accessToken: 'a',
        refreshToken: null,
        idToken: 'i',
        tokenType: 'Bearer',
        scopes: 's',
        expiresAt: at,
        needsSignIn: false,
        refreshLeaseUntil: at,
        createdAt: at,
        updatedAt: at,
      },
    });
    await prisma.resourceToken.create({
      data: {
        id: 'rt1',
        userId: user.id,
        resource: 'r',
        scopeKey: 'r .default',
        requestedScopes: 'r/.default',
        accessToken: 'a',
        tokenType: 'Bearer',
        scopes: 's',
        expiresAt: at,
        createdAt: at,
        updatedAt: at,
      },
    });
    await prisma.adminConsentRequest.create({ data: { stateHash: 'h', userId: user.id, tenantId: 't', scopes: 's', expiresAt: at } });
    const pairs = [
      [sql`SELECT * FROM "User"`, await prisma.user.findMany()],
      [sql`SELECT * FROM "TokenSet"`, await prisma.tokenSet.findMany()],
      [sql`SELECT * FROM "ResourceToken"`, await prisma.resourceToken.findMany()],
      [sql`SELECT * FROM "AdminConsentRequest"`, await prisma.adminConsentRequest.findMany()],
      [sql`SELECT * FROM "Session"`, await prisma.session.findMany()],
      [sql`SELECT * FROM "RateLimitHit"`, await prisma.rateLimitHit.findMany()],
    ] as const;
    for (const [statement, viaClient] of pairs) {
      assert.equal(viaClient.length, 1, statement.strings.join('?'));
      assert.deepEqual(await direct.queryRows(statement), viaClient, statement.strings.join('?'));
    }
    await prisma.user.delete({ where: { id: user.id } });
  });

  it("when Prisma's client and the direct path each run a transaction that commits and one that rolls back, then the adapter sees the same statements: BEGIN, the work, then COMMIT or ROLLBACK sent by the caller", async () => {
    const transactionOf = await adapter.startTransaction();
    const phantom = transactionOf.options.usePhantomQuery;
    await transactionOf.executeRaw({ sql: 'ROLLBACK', args: [], argTypes: [] });
    await transactionOf.rollback();
    assert.equal(phantom, false, "the adapter's transactions expect the caller to send COMMIT and ROLLBACK");

    const step = `DELETE FROM "Session" WHERE "id" = ${kind === 'sqlite' ? '?' : '$1'}`;
    const seen = async (statements: string[], work: () => Promise<unknown>): Promise<string[]> => {
      const mark = statements.length;
      await work().catch(() => undefined);
      return statements.slice(mark);
    };
    const failing = new Error('the work failed');
    const viaClient = {
      committed: await seen(database.statements as string[], () =>
        database.prisma.$transaction((client) => client.$executeRaw`DELETE FROM "Session" WHERE "id" = ${'none'}`),
      ),
      rolledBack: await seen(database.statements as string[], () =>
        database.prisma.$transaction(async (client) => {
          await client.$executeRaw`DELETE FROM "Session" WHERE "id" = ${'none'}`;
          throw failing;
        }),
      ),
    };
    const viaDirect = {
      committed: await seen(adapterStatements, () =>
        direct.transaction((transaction) => transaction.run(sql`DELETE FROM "Session" WHERE "id" = ${'none'}`)),
      ),
      rolledBack: await seen(adapterStatements, () =>
        direct.transaction(async (transaction) => {
          await transaction.run(sql`DELETE FROM "Session" WHERE "id" = ${'none'}`);
          throw failing;
        }),
      ),
    };
    assert.deepEqual(viaClient, { committed: ['BEGIN', step, 'COMMIT'], rolledBack: ['BEGIN', step, 'ROLLBACK'] }, "Prisma's client");
    assert.deepEqual(viaDirect, viaClient, 'the direct path closes its transactions as the client does');
  });

  it('when the direct path commits a write, then another connection reads it at once (the transaction is not left open)', async () => {
    await direct.transaction((transaction) =>
      transaction.run(sql`UPDATE "Session" SET "data" = ${'{"committed":true}'} WHERE "id" = ${'typed'}`),
    );
    assert.equal((await database.prisma.session.findUniqueOrThrow({ where: { id: 'typed' } })).data, '{"committed":true}');
  });

  if (kind === 'sqlite')
    it("when the direct path runs statements on SQLite, then they run on the adapter's better-sqlite3 connection (its `client`), through none of the adapter's runners (queryRaw, executeRaw, performIO, executeIO), and the statement observer sees each once, as it sees Prisma's client's", async () => {
      const calls = { queryRaw: 0, executeRaw: 0, performIO: 0, executeIO: 0 };
      const target = adapter as unknown as Record<keyof typeof calls, (query: unknown) => Promise<unknown>>;
      const runners = Object.keys(calls) as (keyof typeof calls)[];
      const originals = Object.fromEntries(runners.map((name) => [name, target[name]])) as typeof target;
      for (const name of runners) {
        assert.equal(typeof originals[name], 'function', `the adapter still has ${name}`);
        target[name] = (query) => {
          calls[name] += 1;
          return originals[name].call(adapter, query);
        };
      }
      const connection = (adapter as unknown as { client: { prepare: (source: string) => unknown } }).client;
      const { prepare } = Object.getPrototypeOf(connection) as { prepare: (source: string) => unknown };
      const compiled: string[] = [];
      connection.prepare = (source) => {
        compiled.push(source);
        return prepare.call(connection, source);
      };
      try {
        const mark = adapterStatements.length;
        const read = sql`SELECT "hits", "resetAt" FROM "RateLimitHit" WHERE "key" = ${'k'}`;
        const rows = await direct.queryRows(read);
        const changed = await direct.run(sql`UPDATE "RateLimitHit" SET "hits" = ${7} WHERE "key" = ${'k'}`);
        assert.deepEqual(rows, [{ hits: 7, resetAt: new Date('2031-01-01T00:00:00.000Z') }]);
        assert.equal(changed, 1);
        assert.deepEqual(calls, { queryRaw: 0, executeRaw: 0, performIO: 0, executeIO: 0 }, "the direct path skips the adapter's runners");
        assert.deepEqual(compiled, [], "the direct path compiles with better-sqlite3's own prepare, not the connection's");
        assert.deepEqual(
          adapterStatements.slice(mark),
          [read.strings.join('?'), 'UPDATE "RateLimitHit" SET "hits" = ? WHERE "key" = ?'],
          'the observer saw the read and the update once each',
        );
        // Prisma's client calls queryRaw, which the observer watches too; the adapter runs it through performIO and prepare.
        await adapter.queryRaw({ sql: 'SELECT 1', args: [], argTypes: [] });
        assert.deepEqual(adapterStatements.slice(mark + 2), ['SELECT 1'], "Prisma's client's statement seen once");
        assert.deepEqual(
          [calls.performIO, compiled],
          [1, ['SELECT 1']],
          "the adapter's own path still runs through performIO and the connection's prepare",
        );
      } finally {
        for (const name of runners) target[name] = originals[name];
        // The bare adapter's connection uses better-sqlite3's prepare from its prototype: remove the spy set here.
        delete (connection as { prepare?: unknown }).prepare;
      }
    });

  if (kind === 'sqlite')
    it("when the direct path and Prisma's client write the same date and boolean on SQLite, then the stored values are the same (the adapter's argument format: ISO 8601 text with +00:00, 0/1), and each reads back through the other", async () => {
      const expiresAt = new Date('2032-03-04T05:06:07.089Z');
      await direct.run(
        sql`INSERT INTO "Session" ("id", "data", "expiresAt", "destroyed", "userId") VALUES (${'direct'}, ${'{}'}, ${expiresAt}, ${true}, ${null})`,
      );
      await database.prisma.session.create({ data: { id: 'client', data: '{}', expiresAt, destroyed: true, userId: null } });
      const stored = await direct.queryRows(
        sql`SELECT "id", CAST("expiresAt" AS TEXT) AS "expiresText", typeof("expiresAt") AS "expiresType", CAST("destroyed" AS TEXT) AS "destroyedText"
          FROM "Session" WHERE "id" IN (${'direct'}, ${'client'}) ORDER BY "id" DESC`,
      );
      assert.deepEqual(stored, [
        { id: 'direct', expiresText: '2032-03-04T05:06:07.089+00:00', expiresType: 'text', destroyedText: '1' },
        { id: 'client', expiresText: '2032-03-04T05:06:07.089+00:00', expiresType: 'text', destroyedText: '1' },
      ]);
      assert.deepEqual(
        (await database.prisma.session.findUniqueOrThrow({ where: { id: 'direct' } })).expiresAt,
        expiresAt,
        "Prisma's client reads the direct path's date",
      );
      assert.deepEqual(await direct.queryRows(sql`SELECT "expiresAt", "destroyed" FROM "Session" WHERE "id" = ${'client'}`), [
        { expiresAt, destroyed: true },
      ]);
      await direct.run(sql`DELETE FROM "Session" WHERE "id" IN (${'direct'}, ${'client'})`);
    });

  if (kind === 'sqlite')
    it("when a statement on the direct path breaks a unique key, then the error is better-sqlite3's SqliteError with the SQLite code, which database-errors.ts classifies as a unique violation", async () => {
      const insert = sql`INSERT INTO "RateLimitHit" ("key", "hits", "resetAt") VALUES (${'k'}, ${1}, ${new Date()})`;
      await assert.rejects(direct.run(insert), (error: unknown) => {
        const { name, code } = error as { name?: string; code?: string };
        assert.equal(name, 'SqliteError');
        assert.equal(code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
        assert.equal(isUniqueRace(error), true);
        return true;
      });
    });

  if (kind === 'sqlite')
    it("when the app's database has answered once, then its statements run straight on the adapter, none through Prisma's client (the fast path is taken)", async () => {
      const { handle, statements, clientStatements } = database;
      await handle.sql.queryRows(sql`SELECT 1 AS "warm"`);
      const [ran, throughClient] = [statements.length, clientStatements.length];
      const rows = await handle.sql.queryRows(sql`SELECT "id" FROM "Session" WHERE "id" = ${'typed'}`);
      await handle.sql.transaction((transaction) => transaction.run(sql`DELETE FROM "Session" WHERE "id" = ${'none'}`));
      assert.deepEqual(rows, [{ id: 'typed' }]);
      assert.equal(statements.length - ran, 4, 'the read, BEGIN, the delete and COMMIT reached the adapter');
      assert.deepEqual(clientStatements.slice(throughClient), [], "none went through Prisma's client");
    });
});
