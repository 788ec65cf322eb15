import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import { applyMigrations, MigrationError, POSTGRES_MIGRATIONS, readLocalMigrations, SQLITE_MIGRATIONS } from '../../src/db/migrations.ts';
import { startServer } from '../../src/start-server.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { composeServices } from '../../src/composition-root.ts';
import { silentLogger } from '../../src/log.ts';
import { parseResourceScopes } from '../../src/auth/resource-scopes.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { createTestLogger, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import { createPostgresDatabase, dropPostgresDatabase, testDatabaseKind } from '../../dev/postgres-server.ts';
import { POSTGRES_SCHEMA } from '../../scripts/postgresql-schema.ts';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';

const kind = testDatabaseKind();
const PRISMA_CLI = path.resolve('node_modules', 'prisma', 'build', 'index.js');

interface HistoryRow {
  id: string;
  checksum: string;
  migration_name: string;
  logs: string | null;
  finished_at: unknown;
  rolled_back_at: unknown;
  applied_steps_count: number;
}

/** An empty database of this run's kind, its SQL runner, and its removal. */
interface EmptyDatabase {
  url: string;
  query<T>(sql: string): Promise<T[]>;
  remove(): Promise<void>;
}

async function emptyDatabase(): Promise<EmptyDatabase> {
  if (kind === 'postgresql') {
    const url = await createPostgresDatabase();
    return {
      url,
      async query<T>(sql: string) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(sql)).rows as T[];
        } finally {
          await client.end();
        }
      },
      remove: () => dropPostgresDatabase(url),
    };
  }
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-migrate-'));
  const file = path.join(folder, 'app.db');
  return {
    url: `file:${file}`,
    async query<T>(sql: string) {
      const database = new BetterSqlite3(file);
      try {
        return database.prepare(sql).all() as T[];
      } finally {
        database.close();
      }
    },
    remove: async () => fs.rmSync(folder, { recursive: true, force: true }),
  };
}

/** A copy of this kind's migrations folder with one more migration whose SQL fails halfway. */
function foldersWithBrokenMigration(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-migrations-'));
  fs.cpSync(kind === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS, folder, { recursive: true });
  fs.mkdirSync(path.join(folder, '29991231000000_broken'));
  fs.writeFileSync(
    path.join(folder, '29991231000000_broken', 'migration.sql'),
    'CREATE TABLE "Half" ("id" TEXT NOT NULL PRIMARY KEY);\nALTER TABLE "NoSuchTable" ADD COLUMN "x" TEXT;\n',
  );
  return folder;
}

describe(`migrations in-process (${kind})`, () => {
  const local = readLocalMigrations(kind === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS);

  it('when the database is empty, then every migration is applied in order and recorded as Prisma records it; a second run applies nothing', async () => {
    const database = await emptyDatabase();
    try {
      assert.deepEqual(
        await applyMigrations(database.url),
        local.map((migration) => migration.name),
      );
      const rows = await database.query<HistoryRow>('SELECT * FROM _prisma_migrations ORDER BY migration_name');
      assert.deepEqual(
        rows.map((row) => [row.migration_name, row.checksum, row.applied_steps_count, row.logs, row.rolled_back_at]),
        local.map((migration) => [migration.name, migration.checksum, 1, null, null]),
      );
      for (const row of rows) {
        assert.match(row.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.notEqual(row.finished_at, null);
      }
      const sql = fs.readFileSync(
        path.join(kind === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS, local[0]!.name, 'migration.sql'),
      );
      assert.equal(
        rows[0]!.checksum,
        crypto.createHash('sha256').update(sql).digest('hex'),
        'the checksum is the SHA-256 of migration.sql',
      );

      assert.deepEqual(await applyMigrations(database.url), [], 'nothing pending: nothing applied');
      assert.equal((await database.query('SELECT * FROM _prisma_migrations')).length, local.length);
    } finally {
      await database.remove();
    }
  });

  it('when a migration fails, then it is recorded as failed with its error, the start is refused with how to resolve it, and later runs refuse too', async () => {
    const database = await emptyDatabase();
    const folder = foldersWithBrokenMigration();
    try {
      await assert.rejects(
        applyMigrations(database.url, { folder }),
        (error: Error) => error instanceof MigrationError && /29991231000000_broken failed/.test(error.message),
      );
      const [failed] = await database.query<HistoryRow>("SELECT * FROM _prisma_migrations WHERE migration_name = '29991231000000_broken'");
      assert.equal(failed!.finished_at, null);
      assert.match(failed!.logs!, /NoSuchTable/);
      await assert.rejects(applyMigrations(database.url, { folder }), /prisma migrate resolve --rolled-back 29991231000000_broken/);
      if (kind === 'postgresql') {
        const half = await database.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'Half'");
        assert.deepEqual(half, [], 'on PostgreSQL the failed script left nothing half-applied');
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
      await database.remove();
    }
  });

  it("when an applied migration's file was changed since it was applied, then the start is refused naming it, before and after pending ones, and nothing more is applied; line endings alone change nothing", async () => {
    const database = await emptyDatabase();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-migrations-'));
    try {
      fs.cpSync(kind === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS, folder, { recursive: true });
      await applyMigrations(database.url, { folder });
      const first = path.join(folder, local[0]!.name, 'migration.sql');
      const original = fs.readFileSync(first, 'utf8');
      fs.writeFileSync(first, original.replace(/\n/g, '\r\n'));
      assert.deepEqual(await applyMigrations(database.url, { folder }), [], 'a CRLF checkout is the same migration');

      fs.writeFileSync(first, `${original}\n-- edited after it was applied\n`);
      const refusal = (error: Error) =>
        error instanceof MigrationError && error.message.includes(`Migration ${local[0]!.name} was changed after it was applied`);
      await assert.rejects(applyMigrations(database.url, { folder }), refusal, 'nothing pending');
      fs.mkdirSync(path.join(folder, '29991231000000_later'));
      fs.writeFileSync(
        path.join(folder, '29991231000000_later', 'migration.sql'),
        'CREATE TABLE "Later" ("id" TEXT NOT NULL PRIMARY KEY);\n',
      );
      await assert.rejects(applyMigrations(database.url, { folder }), refusal, 'one pending');
      assert.deepEqual(
        await database.query("SELECT migration_name FROM _prisma_migrations WHERE migration_name = '29991231000000_later'"),
        [],
        'the pending one was not applied',
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
      await database.remove();
    }
  });

  it('when a database of the schema before tokens for other resources holds a token, then after the migration it reads back as the default entry and nothing else', async () => {
    const database = await emptyDatabase();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-migrations-'));
    const migrations = kind === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS;
    const previous = local.filter((migration) => !migration.name.endsWith('_resource_tokens'));
    assert.equal(previous.length, local.length - 1);
    for (const migration of previous)
      fs.cpSync(path.join(migrations, migration.name), path.join(folder, migration.name), { recursive: true });
    fs.copyFileSync(path.join(migrations, 'migration_lock.toml'), path.join(folder, 'migration_lock.toml'));
    const parsed = parseConfig({
      O365_APP_ID: TEST_APP_ID,
      O365_APP_KEY: TEST_APP_KEY,
      DATABASE_URL: database.url,
      TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    });
    assert.ok(parsed.ok);
    const connection = openDatabase(database.url);
    try {
      await applyMigrations(database.url, { folder });
      assert.deepEqual(await database.query("SELECT 1 FROM _prisma_migrations WHERE migration_name LIKE '%_resource_tokens'"), []);
      // The sign-in of the version before, written by the same SQL it ran (User and TokenSet only).
      const { tokenStore } = composeServices(parsed.config, connection, silentLogger);
      const identity = {
        tenantId: crypto.randomUUID(),
        objectId: crypto.randomUUID(),
        subject: 's',
        displayName: 'Adele',
        username: 'adele@contoso.test',
      };
      const userId = await tokenStore.saveSignIn(
        identity,
        {
          accessToken: 'eyJ0eXAi.stored-before.sig',
          refreshToken: 'refresh-before',
          idToken: 'id.token.before',
          tokenType: 'Bearer',
          scopes: ['openid', 'User.Read'],
          expiresIn: 3600,
        },
        new Date(),
      );

      assert.deepEqual(
        await applyMigrations(database.url),
        local.slice(previous.length).map((migration) => migration.name),
      );
      const { resourceTokenService, resourceTokenStore } = composeServices(parsed.config, connection, silentLogger);
      const defaultScopes = parseResourceScopes(parsed.config.scopes);
      assert.ok(defaultScopes.ok);
      const token = await resourceTokenService.getResourceToken(userId, defaultScopes.value);
      assert.equal(token.isDefault, true);
      assert.equal(token.refreshed, false, 'read from the database, no request');
      assert.equal(token.accessToken, 'eyJ0eXAi.stored-before.sig');
      assert.equal(token.resource, 'https://graph.microsoft.com');
      assert.deepEqual(await resourceTokenStore.listResourceTokens(token.user), []);
      assert.equal(
        (await resourceTokenStore.loadResourceToken(userId, 'https://outlook.office.com .default'))?.grant?.refreshToken,
        'refresh-before',
      );
    } finally {
      await connection.close();
      fs.rmSync(folder, { recursive: true, force: true });
      await database.remove();
    }
  });

  if (kind === 'sqlite') {
    it("when Prisma's own `migrate deploy` looks at a database migrated here, then nothing is pending; and the other way round", async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-deploy-'));
      const deploy = (url: string) =>
        spawnSync(process.execPath, [PRISMA_CLI, 'migrate', 'deploy'], {
          env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
          encoding: 'utf8',
          timeout: COMMAND_TIME_LIMIT_MS,
        });
      try {
        const ours = `file:${path.join(folder, 'ours.db')}`;
        const theirs = `file:${path.join(folder, 'theirs.db')}`;
        await applyMigrations(ours);
        const result = deploy(ours);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /No pending migrations to apply/);
        assert.equal(deploy(theirs).status, 0);
        assert.deepEqual(await applyMigrations(theirs), []);
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });
  }

  if (kind === 'postgresql') {
    it('when several runners start at the same moment on an empty database, then each migration is applied once and all of them succeed', async () => {
      const database = await emptyDatabase();
      try {
        const results = await Promise.all([applyMigrations(database.url), applyMigrations(database.url), applyMigrations(database.url)]);
        assert.deepEqual(
          results.flat().sort(),
          local.map((migration) => migration.name).sort(),
          'together they applied each migration exactly once',
        );
        const rows = await database.query<HistoryRow>('SELECT * FROM _prisma_migrations');
        assert.equal(rows.length, local.length);
      } finally {
        await database.remove();
      }
    });

    it('when nothing is pending, then the runner only reads the history: it does not even wait for the migration lock another session holds', {
      timeout: 20_000,
    }, async () => {
      const database = await emptyDatabase();
      const holder = new pg.Client({ connectionString: database.url });
      try {
        await applyMigrations(database.url);
        await holder.connect();
        await holder.query('SELECT pg_advisory_lock(72707369)');
        assert.deepEqual(await applyMigrations(database.url), []);
      } finally {
        await holder.end();
        await database.remove();
      }
    });

    it('when _prisma_migrations is created here, then its columns are the ones Prisma creates on PostgreSQL', async () => {
      const database = await emptyDatabase();
      try {
        await applyMigrations(database.url);
        const columns = await database.query<{
          column_name: string;
          data_type: string;
          is_nullable: string;
          character_maximum_length: number | null;
        }>(
          "SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position",
        );
        assert.deepEqual(
          columns.map(
            (column) =>
              `${column.column_name} ${column.data_type}${column.character_maximum_length ? `(${column.character_maximum_length})` : ''} ${column.is_nullable === 'YES' ? 'null' : 'not null'}`,
          ),
          [
            'id character varying(36) not null',
            'checksum character varying(64) not null',
            'finished_at timestamp with time zone null',
            'migration_name character varying(255) not null',
            'logs text null',
            'rolled_back_at timestamp with time zone null',
            'started_at timestamp with time zone not null',
            'applied_steps_count integer not null',
          ],
        );
      } finally {
        await database.remove();
      }
    });

    it('when the PostgreSQL migrations are applied, then the tables, columns, indexes and constraints equal those of prisma/postgresql/schema.prisma (no missing migration)', async () => {
      const migrated = await emptyDatabase();
      const fromSchema = await emptyDatabase();
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-diff-'));
      try {
        await applyMigrations(migrated.url);
        const diff = spawnSync(
          process.execPath,
          [PRISMA_CLI, 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', POSTGRES_SCHEMA, '--script'],
          {
            env: { ...process.env, DATABASE_URL: `file:${path.join(scratch, 'scratch.db')}`, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
            encoding: 'utf8',
            timeout: COMMAND_TIME_LIMIT_MS,
          },
        );
        assert.equal(diff.status, 0, diff.stderr);
        await fromSchema.query(diff.stdout);
        const shape = async (database: EmptyDatabase) => ({
          columns: await database.query(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1, 2",
          ),
          indexes: await database.query(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1, 2",
          ),
          constraints: await database.query(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE '_prisma_migrations%' ORDER BY 1",
          ),
        });
        assert.deepEqual(
          await shape(migrated),
          await shape(fromSchema),
          'prisma/schema.prisma changed without a PostgreSQL migration: run `npm run db:pg-migration -- <name>`',
        );
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
        await migrated.remove();
        await fromSchema.remove();
      }
    });
  }
});

describe(`MIGRATE_ON_START=false and npm run migrate (${kind})`, () => {
  let idp: StartedIdp;
  before(async () => {
    idp = await startIdentityProvider({
      port: 0,
      clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: ['http://127.0.0.1:5695/connect/get_token'] }],
    });
  });
  after(async () => {
    await idp.close();
  });

  it('when migration at start is off, then the server starts without touching the schema; `npm run migrate` then applies every migration', async () => {
    const database = await emptyDatabase();
    try {
      const parsed = parseConfig({
        O365_APP_ID: TEST_APP_ID,
        O365_APP_KEY: TEST_APP_KEY,
        O365_AUTHORITY_HOST: idp.origin,
        BASE_URL: 'http://127.0.0.1:5695',
        PORT: '0',
        DATABASE_URL: database.url,
        MIGRATE_ON_START: 'false',
        SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      });
      assert.ok(parsed.ok);
      const server = await startServer(parsed.config, createTestLogger());
      await server.close();
      const tables =
        kind === 'postgresql'
          ? await database.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
          : await database.query("SELECT name FROM sqlite_master WHERE type = 'table'");
      assert.deepEqual(tables, []);

      const migrate = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
        env: { ...process.env, DATABASE_URL: database.url },
        encoding: 'utf8',
        timeout: COMMAND_TIME_LIMIT_MS,
      });
      assert.equal(migrate.status, 0, migrate.stderr);
      assert.match(migrate.stdout, /Applied to .*_init/);
      const password = kind === 'postgresql' ? new URL(database.url).password : '';
      if (password !== '') assert.ok(!migrate.stdout.includes(password), 'no password printed');
      const again = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
        env: { ...process.env, DATABASE_URL: database.url },
        encoding: 'utf8',
        timeout: COMMAND_TIME_LIMIT_MS,
      });
      assert.match(again.stdout, /is up to date/);
    } finally {
      await database.remove();
    }
  });
});

if (kind === 'postgresql') {
  describe('two instances starting at once on an empty PostgreSQL database', () => {
    let idp: StartedIdp;
    before(async () => {
      idp = await startIdentityProvider({
        port: 0,
        clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: ['http://127.0.0.1:5696/connect/get_token'] }],
      });
    });
    after(async () => {
      await idp.close();
    });

    it('when two servers start at the same moment, then both migrate-or-wait, both come up and are ready', async () => {
      const url = await createPostgresDatabase();
      const shared = {
        O365_APP_ID: TEST_APP_ID,
        O365_APP_KEY: TEST_APP_KEY,
        O365_AUTHORITY_HOST: idp.origin,
        BASE_URL: 'http://127.0.0.1:5696',
        PORT: '0',
        DATABASE_URL: url,
        SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
      };
      const parsed = parseConfig(shared);
      assert.ok(parsed.ok);
      const servers = await Promise.all([startServer(parsed.config, createTestLogger()), startServer(parsed.config, createTestLogger())]);
      try {
        for (const server of servers) assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      } finally {
        await Promise.all(servers.map((server) => server.close()));
        await dropPostgresDatabase(url);
      }
    });
  });
}
