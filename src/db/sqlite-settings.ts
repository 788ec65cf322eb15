import fs from 'node:fs';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import { ensureDatabaseDirectory, sqliteFilePath } from './database-url.ts';
import { observeAdapterStatements, reusePreparedStatements, sqliteConnectionOf } from './prisma-adapter-internals.ts';
import { startWalCheckpoints } from './wal-checkpoint.ts';
import type { WalCheckpoint } from './wal-checkpoint.ts';

/**
 * Set on every connection: WAL lets readers run while one connection writes; synchronous=NORMAL syncs
 * at checkpoints only (a power cut may lose the last commits, never corrupts the file); secure_delete
 * overwrites deleted rows, so a forgotten token does not stay in freed pages (older WAL frames: wal-checkpoint.ts).
 */
export const SQLITE_CONNECTION_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'secure_delete = ON'] as const;

/** SQLite never waits for another connection's lock on the event loop: writes retry asynchronously (database-retry.ts). */
export const BUSY_TIMEOUT_MS = 0;

/** Owner-only mode for the database files: they hold sealed tokens and live sessions (the folder: database-url.ts). */
const FILE_MODE = 0o600;

/** A connected, tuned SQLite adapter and the WAL checkpoints of its connection. */
export interface ConnectedSqlite {
  readonly adapter: SqlDriverAdapter;
  readonly checkpoint: WalCheckpoint;
}

/**
 * Prisma's better-sqlite3 adapter factory, tuned: each connection it opens gets SQLITE_CONNECTION_PRAGMAS, its WAL
 * checkpoints (wal-checkpoint.ts) and compiled statements kept for reuse (prisma-adapter-internals.ts). Give it to
 * Prisma's client, or connect it yourself for the direct path alone (sql.ts `sqlOnDriverAdapter`).
 */
export class TunedSQLiteAdapter extends PrismaBetterSQLite3 {
  readonly #onStatement: ((sql: string) => void) | undefined;
  /** The connection opened last, until it is disposed: the direct path of the database's statements runs on it. */
  connected: ConnectedSqlite | undefined;

  /** `onStatement` sees the SQL of every statement the connection runs, whichever path sent it. */
  constructor(config: { url: string; timeout: number }, onStatement?: (sql: string) => void) {
    super(config);
    this.#onStatement = onStatement;
  }

  override async connect(): Promise<SqlDriverAdapter> {
    const adapter = await super.connect();
    await adapter.executeScript(SQLITE_CONNECTION_PRAGMAS.map((pragma) => `PRAGMA ${pragma};`).join('\n'));
    const connection = sqliteConnectionOf(adapter);
    // Before reusePreparedStatements: the checkpoint statement is compiled with the connection's own prepare.
    const checkpoint = startWalCheckpoints(connection);
    reusePreparedStatements(connection);
    if (this.#onStatement !== undefined) observeAdapterStatements(adapter, this.#onStatement);
    const connected: ConnectedSqlite = { adapter, checkpoint };
    const { dispose } = adapter;
    adapter.dispose = () => {
      checkpoint.close();
      if (this.connected === connected) this.connected = undefined;
      return dispose.call(adapter);
    };
    this.connected = connected;
    return adapter;
  }
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
