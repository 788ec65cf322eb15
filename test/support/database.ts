import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openDatabase } from '../../src/db/open-database.ts';
import type { Database, PrismaDatabaseClient } from '../../src/db/database.ts';
import { applyMigrations } from '../../src/db/migrations.ts';
import { createPostgresDatabase, dropPostgresDatabase, testDatabaseKind } from '../../dev/postgres-server.ts';
import { waitUntil } from './bounded-waits.ts';

export interface TestDatabase {
  readonly kind: 'sqlite' | 'postgresql';
  readonly url: string;
  /** The SQLite file; empty on PostgreSQL. */
  readonly file: string;
  /** The database as the app opens it (open-database.ts): give it to createApp. */
  readonly handle: Database;
  /** Prisma's client on the same connection, for the tests' own typed queries. */
  readonly prisma: PrismaDatabaseClient;
  /** The SQL of every statement the app's client ran so far (BEGIN for each transaction), on either path. */
  readonly statements: readonly string[];
  /** The SQL of those that went through Prisma's client (its query pipeline) rather than straight to the driver adapter. */
  readonly clientStatements: readonly string[];
  /** Runs SQL on a separate connection, as an operator or another process would. */
  execute(sql: string): Promise<void>;
  /** Everything the database stores, as text: the SQLite files' bytes, or every PostgreSQL row. */
  dump(): Promise<string>;
  /** Another connection holds the write lock of every table until the returned function is called; reads go on. */
  holdWriteLock(): Promise<() => Promise<void>>;
  /** Every later insert or update of a session row fails in the database itself (as on a full disk) until the returned function is called. */
  failSessionWrites(): Promise<() => Promise<void>>;
  /** Every later insert of a session row fails in the database itself (updates go on) until the returned function is called. */
  failSessionInserts(): Promise<() => Promise<void>>;
  remove(): Promise<void>;
}

const SESSION_WRITES_FAIL = 'session writes fail in this test';

let template: Promise<string> | undefined;

/** A migrated SQLite file, made once per test process by the app's migration runner. */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-template-'));
    const file = path.join(folder, 'template.db');
    await applyMigrations(`file:${file}`);
    process.once('exit', () => fs.rmSync(folder, { recursive: true, force: true }));
    return file;
  })();
  return template;
}

/**
 * A fresh, migrated database: a SQLite file in its own temporary folder, or, when TEST_DATABASE=postgresql,
 * a new database on the run's throw-away PostgreSQL server.
 */
export async function createTestDatabase(
  options: { busyTimeoutMs?: number | undefined; kind?: 'sqlite' | 'postgresql' } = {},
): Promise<TestDatabase> {
  return (options.kind ?? testDatabaseKind()) === 'postgresql' ? createPostgresTestDatabase() : createSqliteTestDatabase(options);
}

async function createSqliteTestDatabase(options: { busyTimeoutMs?: number | undefined }): Promise<TestDatabase> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-test-'));
  const file = path.join(folder, 'app.db');
  fs.copyFileSync(await migratedTemplate(), file);
  const url = `file:${file}`;
  const statements: string[] = [];
  const clientStatements: string[] = [];
  const handle = openDatabase(url, {
    busyTimeoutMs: options.busyTimeoutMs,
    onStatement: (sql) => statements.push(sql),
    onClientStatement: (sql) => clientStatements.push(sql),
  });
  const { prisma } = handle;
  const execute = async (sql: string) => {
    const connection = new BetterSqlite3(file);
    try {
      connection.exec(sql);
    } finally {
      connection.close();
    }
  };
  return {
    kind: 'sqlite',
    url,
    file,
    handle,
    prisma,
    statements,
    clientStatements,
    execute,
    async dump() {
      await prisma.$executeRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
      const files = [file, `${file}-wal`, `${file}-journal`].filter((name) => fs.existsSync(name));
      return Buffer.concat(files.map((name) => fs.readFileSync(name))).toString('latin1');
    },
    async holdWriteLock() {
      const connection = new BetterSqlite3(file);
      connection.exec('BEGIN IMMEDIATE');
      return async () => {
        connection.exec('ROLLBACK');
        connection.close();
      };
    },
    async failSessionWrites() {
      await execute(`CREATE TRIGGER fail_session_update BEFORE UPDATE ON "Session" BEGIN SELECT RAISE(ABORT, '${SESSION_WRITES_FAIL}'); END;
        CREATE TRIGGER fail_session_insert BEFORE INSERT ON "Session" BEGIN SELECT RAISE(ABORT, '${SESSION_WRITES_FAIL}'); END;`);
      return () => execute('DROP TRIGGER fail_session_update; DROP TRIGGER fail_session_insert;');
    },
    async failSessionInserts() {
      await execute(
        `CREATE TRIGGER fail_session_insert BEFORE INSERT ON "Session" BEGIN SELECT RAISE(ABORT, '${SESSION_WRITES_FAIL}'); END;`,
      );
      return () => execute('DROP TRIGGER fail_session_insert;');
    },
    async remove() {
      await handle.close();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function createPostgresTestDatabase(): Promise<TestDatabase> {
  const url = await createPostgresDatabase();
  await applyMigrations(url);
  const statements: string[] = [];
  const clientStatements: string[] = [];
  const handle = openDatabase(url, { onStatement: (sql) => statements.push(sql), onClientStatement: (sql) => clientStatements.push(sql) });
  const { prisma } = handle;
  const withClient = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const execute = (sql: string) =>
    withClient(async (client) => {
      await client.query(sql);
    });
  return {
    kind: 'postgresql',
    url,
    file: '',
    handle,
    prisma,
    statements,
    clientStatements,
    execute,
    dump: () =>
      withClient(async (client) => {
        const { rows: tables } = await client.query<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
        );
        const parts: string[] = [];
        for (const table of tables) parts.push(JSON.stringify((await client.query(`SELECT * FROM "${table.name}"`)).rows));
        return parts.join('\n');
      }),
    async holdWriteLock() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      // EXCLUSIVE conflicts with every INSERT, UPDATE and DELETE but not with SELECT, like SQLite's write lock.
      await client.query('BEGIN; LOCK TABLE "Session", "User", "TokenSet" IN EXCLUSIVE MODE');
      return async () => {
        await client.query('ROLLBACK');
        await client.end();
      };
    },
    async failSessionWrites() {
      await execute(`CREATE FUNCTION fail_session_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${SESSION_WRITES_FAIL}'; END $$;
        CREATE TRIGGER fail_session_write BEFORE INSERT OR UPDATE ON "Session" FOR EACH ROW EXECUTE FUNCTION fail_session_write();`);
      return () => execute('DROP TRIGGER fail_session_write ON "Session"; DROP FUNCTION fail_session_write();');
    },
    async failSessionInserts() {
      await execute(`CREATE FUNCTION fail_session_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${SESSION_WRITES_FAIL}'; END $$;
        CREATE TRIGGER fail_session_insert BEFORE INSERT ON "Session" FOR EACH ROW EXECUTE FUNCTION fail_session_insert();`);
      return () => execute('DROP TRIGGER fail_session_insert ON "Session"; DROP FUNCTION fail_session_insert();');
    },
    async remove() {
      await handle.close();
      await dropPostgresDatabase(url);
    },
  };
}

/** Row counts of every table, to assert that a failure wrote nothing. */
export async function countRows(prisma: PrismaDatabaseClient): Promise<{ users: number; tokenSets: number; signedInSessions: number }> {
  const sessions = await prisma.session.findMany();
  return {
    users: await prisma.user.count(),
    tokenSets: await prisma.tokenSet.count(),
    signedInSessions: sessions.filter((row) => (JSON.parse(row.data) as { userId?: string }).userId !== undefined).length,
  };
}

/** The statements among `statements` that change data (INSERT, UPDATE, DELETE). */
export function writesAmong(statements: readonly string[]): string[] {
  return statements.filter((sql) => /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(sql));
}

/** A statement that reads (SELECT … FROM or JOIN) or writes (INSERT INTO, UPDATE) `table`, as the app's SQL or Prisma's client names it. */
export function statementOn(kind: 'read' | 'write', table: string): RegExp {
  const name = String.raw`(?:[\x60"]\w+[\x60"]\.)?[\x60"]${table}[\x60"]`;
  return kind === 'read'
    ? new RegExp(String.raw`^\s*SELECT\b[\s\S]*\b(?:FROM|JOIN)\s+${name}`, 'i')
    : new RegExp(String.raw`^\s*(?:INSERT\s+INTO|UPDATE)\s+${name}`, 'i');
}

const SESSION_READ = statementOn('read', 'Session');
const SESSION_WRITE = statementOn('write', 'Session');

/**
 * Runs `requests` (`copies` copies of one request) while another connection holds the database's write lock, and lets
 * it go once `statements` (one instance's) show `copies` reads of the Session table and as many tries to write it: every
 * copy has loaded its session before any copy could write one. A statement is logged as it is sent; a copy tries its
 * write only once its read has returned (on SQLite a read returns before anything else runs, and a write refused by the
 * lock is tried again). Throws, failing the test, when the requests end without them or they do not come in time.
 */
export async function holdWritesUntilSessionsRead<T>(
  database: TestDatabase,
  statements: readonly string[],
  copies: number,
  requests: () => Promise<T>,
): Promise<T> {
  const release = await database.holdWriteLock();
  const mark = statements.length;
  const seen = (pattern: RegExp) => statements.slice(mark).filter((sql) => pattern.test(sql)).length;
  const staged = () => seen(SESSION_READ) >= copies && seen(SESSION_WRITE) >= copies;
  let ended = false;
  let running: Promise<T>;
  try {
    running = requests();
    running.then(
      () => (ended = true),
      () => (ended = true),
    );
    await waitUntil(() => ended || staged(), `${copies} session reads and write tries while the write lock is held`);
    if (!staged())
      throw new Error(
        `the held writes staged nothing: the requests ended after ${seen(SESSION_READ)} session reads and ${seen(SESSION_WRITE)} write tries`,
      );
  } finally {
    await release();
  }
  return running;
}
