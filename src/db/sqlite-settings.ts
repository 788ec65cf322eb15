import fs from 'node:fs';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import type { Database } from './database.ts';
import { ensureDatabaseDirectory, sqliteFilePath } from './database-url.ts';
import { observeClientStatements, observeStatements } from './statement-observer.ts';
import { memoizeBounded } from '../bounded-memo.ts';
import { registerSqlDriver, unregisterSqlDriver } from './direct-sql.ts';
import { retryWhenBusy } from './database-retry.ts';
import { startWalCheckpoints, waitForCheckpoint } from './wal-checkpoint.ts';

/**
 * Set on every connection: WAL lets readers run while one connection writes; synchronous=NORMAL syncs
 * at checkpoints only (a power cut may lose the last commits, never corrupts the file); secure_delete
 * overwrites deleted rows, so a forgotten token does not stay in freed pages (older WAL frames: wal-checkpoint.ts).
 */
export const SQLITE_CONNECTION_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'secure_delete = ON'] as const;

/** Owner-only mode for the database files: they hold sealed tokens and live sessions (the folder: database-url.ts). */
const FILE_MODE = 0o600;

const sqliteClients = new WeakSet<object>();

type Adapter = Awaited<ReturnType<PrismaBetterSQLite3['connect']>>;

/** The driver adapter that applies SQLITE_CONNECTION_PRAGMAS to each connection it opens and checkpoints its WAL (wal-checkpoint.ts). */
class TunedSQLiteAdapter extends PrismaBetterSQLite3 {
  readonly #onStatement: ((sql: string) => void) | undefined;
  /** The client this adapter serves: its hot statements may use the connection directly (direct-sql.ts). */
  client: Database | undefined;

  constructor(config: ConstructorParameters<typeof PrismaBetterSQLite3>[0], onStatement: ((sql: string) => void) | undefined) {
    super(config);
    this.#onStatement = onStatement;
  }

  override async connect(): Promise<Adapter> {
    const adapter = await super.connect();
    await adapter.executeScript(SQLITE_CONNECTION_PRAGMAS.map((pragma) => `PRAGMA ${pragma};`).join('\n'));
    const connection = (adapter as unknown as { client: BetterSqlite3.Database }).client;
    const client = this.client;
    if (client !== undefined) {
      // Before reusePreparedStatements: the checkpoint statement is compiled with the connection's own prepare.
      const stopCheckpoints = startWalCheckpoints(client, connection);
      const { dispose } = adapter;
      adapter.dispose = () => {
        stopCheckpoints();
        unregisterSqlDriver(client);
        return dispose.call(adapter);
      };
      registerSqlDriver(client, adapter);
    }
    reusePreparedStatements(connection);
    return this.#onStatement === undefined ? adapter : observeStatements(adapter, this.#onStatement);
  }
}

/**
 * A Prisma client on a SQLite file: folder 0700, file, -wal and -shm 0600 (existing ones are tightened too), the pragmas above, and a busy timeout of `busyTimeoutMs` (0: never wait on the event loop).
 * `onStatement` sees the SQL of every statement (tests count the writes of a request with it), `onClientStatement` those
 * that go through Prisma's client rather than straight to the adapter.
 */
export function openSqliteDatabase(
  databaseUrl: string,
  options: {
    busyTimeoutMs: number;
    onStatement?: ((sql: string) => void) | undefined;
    onClientStatement?: ((sql: string) => void) | undefined;
  },
): Database {
  prepareSqliteFiles(databaseUrl);
  const adapter = new TunedSQLiteAdapter({ url: databaseUrl, timeout: options.busyTimeoutMs }, options.onStatement);
  const client: Database = observeClientStatements((events) => new PrismaClient({ adapter, ...events }), options.onClientStatement);
  adapter.client = client;
  sqliteClients.add(client);
  return client;
}

/**
 * Creates the folder (0700) and an empty database file (0600) when missing, and sets 0700 on an existing folder (a
 * warning when it cannot) and 0600 on existing files.
 */
export function prepareSqliteFiles(databaseUrl: string): void {
  const file = sqliteFilePath(databaseUrl);
  ensureDatabaseDirectory(databaseUrl);
  // SQLite gives -wal and -shm the mode of the database file, so creating that one 0600 covers all three.
  fs.closeSync(fs.openSync(file, 'a', FILE_MODE));
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try {
      fs.chmodSync(file + suffix, FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Rewrites the whole SQLite file (VACUUM) and empties the WAL, so no free page or older frame keeps what was
 * overwritten. Waits up to `waitMs` for another connection's write lock (VACUUM) and read snapshot (the checkpoint);
 * `onWaiting` hears when the checkpoint must wait. Returns false when the time ran out; true at once for PostgreSQL.
 */
export async function compactDatabase(database: Database, options: { waitMs: number; onWaiting?: () => void }): Promise<boolean> {
  if (!sqliteClients.has(database)) return true;
  await retryWhenBusy(() => database.$executeRawUnsafe('VACUUM'), { timeoutMs: options.waitMs });
  return waitForCheckpoint(database, { timeoutMs: options.waitMs, onWaiting: options.onWaiting });
}

/** How many compiled statements a connection keeps: the app runs a few dozen distinct SQL texts. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * Compiles each SQL text once per connection. Prisma's adapter calls `prepare(sql).bind(args)` for every query, and
 * compiling the statement is a large part of a query's cost here; a bound better-sqlite3 statement cannot be bound
 * again, so each call gets a small view of the cached statement that passes its arguments to every run instead.
 */
function reusePreparedStatements(connection: BetterSqlite3.Database): void {
  const compile = connection.prepare.bind(connection);
  const statementFor = memoizeBounded(STATEMENT_CACHE_SIZE, (source) => compile(source));
  const withArguments = (statement: BetterSqlite3.Statement, args: unknown[]) => ({
    reader: statement.reader,
    columns: () => statement.columns(),
    run: () => statement.run(args),
    raw: () => ({ all: () => statement.raw(true).all(args) }),
  });
  connection.prepare = ((source: string) => {
    const statement = statementFor(source);
    return {
      reader: statement.reader,
      run: (...args: unknown[]) => statement.run(...args),
      bind: (args: unknown[]) => withArguments(statement, args),
    };
  }) as unknown as typeof connection.prepare;
}
