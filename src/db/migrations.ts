import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { isPostgresUrl, sqliteFilePath } from './database-url.ts';
import { prepareSqliteFiles } from './sqlite-settings.ts';
import { PROJECT_ROOT } from '../project-root.ts';

// This runner replaces `prisma migrate deploy` at start: through the PostgreSQL driver adapter that command fails
// (https://github.com/prisma/prisma/issues/27403), and on SQLite it costs about 1.1 s per start against one query here.
// It writes Prisma's own _prisma_migrations rows, so the CLI can take over on a database migrated here.

/** Prisma's migration folders: one per database, the same data model (prisma/schema.prisma). */
export const SQLITE_MIGRATIONS = path.join(PROJECT_ROOT, 'prisma', 'migrations');
export const POSTGRES_MIGRATIONS = path.join(PROJECT_ROOT, 'prisma', 'postgresql', 'migrations');

/** The key `prisma migrate` itself locks on PostgreSQL, so this runner and `prisma migrate deploy` never overlap. */
const PRISMA_ADVISORY_LOCK = 72707369;

export interface LocalMigration {
  /** The folder name, e.g. 20261128000000_init: Prisma applies them in this order. */
  readonly name: string;
  readonly sql: string;
  /** Hex SHA-256 of migration.sql, as Prisma stores it in _prisma_migrations.checksum. */
  readonly checksum: string;
}

interface AppliedMigration {
  readonly name: string;
  /** The checksum recorded when it was applied. */
  readonly checksum: string;
  readonly finished: boolean;
  readonly rolledBack: boolean;
}

/** What one database needs from the runner; SQLite and PostgreSQL each implement it with their own driver. */
interface MigrationTarget {
  /** The rows of _prisma_migrations, or undefined when the table does not exist yet. One query. */
  readApplied(): Promise<AppliedMigration[] | undefined>;
  /** Runs `work` while no other runner (or `prisma migrate`) can migrate this database. */
  withLock<T>(work: () => Promise<T>): Promise<T>;
  createHistoryTable(): Promise<void>;
  /** Records the start, runs the script, records the end, exactly as `prisma migrate deploy` does. */
  apply(migration: LocalMigration): Promise<void>;
  close(): Promise<void>;
}

/**
 * A migration failed earlier and was never resolved (Prisma refuses to go on too: P3009), or an applied migration's
 * file was changed since it was applied: the schema is no longer what the files say, so the app refuses to start.
 */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** The migration folders under `folder`, in Prisma's order, with their checksums. */
export function readLocalMigrations(folder: string): LocalMigration[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(folder, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(folder, name, 'migration.sql'));
      return { name, sql: sql.toString('utf8'), checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies the pending migrations of this database's folder in-process and records them in `_prisma_migrations`
 * with Prisma's columns and checksums, so `prisma migrate deploy` can take over. When nothing is pending it costs
 * one query. On PostgreSQL the work runs inside Prisma's advisory lock, so instances starting together wait for
 * each other. Resolves with the names it applied.
 */
export async function applyMigrations(databaseUrl: string, options: { folder?: string } = {}): Promise<string[]> {
  const postgres = isPostgresUrl(databaseUrl);
  const local = readLocalMigrations(options.folder ?? (postgres ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS));
  const target = postgres ? await openPostgresTarget(databaseUrl) : openSqliteTarget(databaseUrl);
  try {
    const firstLook = await target.readApplied();
    if (firstLook !== undefined) refuseChangedMigrations(local, firstLook);
    if (firstLook !== undefined && pendingMigrations(local, firstLook).length === 0) return [];
    return await target.withLock(async () => {
      await target.createHistoryTable();
      const applied = (await target.readApplied()) ?? [];
      const failed = applied.find((row) => !row.finished && !row.rolledBack);
      if (failed !== undefined) {
        throw new MigrationError(
          `Migration ${failed.name} failed earlier and is not resolved: fix the database, then mark it with ` +
            `\`npx prisma migrate resolve --rolled-back ${failed.name}\` (or --applied) and start again.`,
        );
      }
      const pending = pendingMigrations(local, applied);
      for (const migration of pending) await target.apply(migration);
      return pending.map((migration) => migration.name);
    });
  } finally {
    await target.close();
  }
}

function pendingMigrations(local: LocalMigration[], applied: AppliedMigration[]): LocalMigration[] {
  const done = new Set(applied.filter((row) => row.finished && !row.rolledBack).map((row) => row.name));
  return local.filter((migration) => !done.has(migration.name));
}

/**
 * Throws when a migration recorded as applied has another checksum than its file now: an edited migration never runs
 * again, so the database would silently differ from what the files describe. A file whose only change is its line
 * endings (a checkout with CRLF) is the same migration.
 */
function refuseChangedMigrations(local: LocalMigration[], applied: AppliedMigration[]): void {
  const byName = new Map(local.map((migration) => [migration.name, migration]));
  for (const row of applied) {
    const migration = byName.get(row.name);
    if (migration === undefined || !row.finished || row.rolledBack) continue;
    if (checksumsOf(migration.sql).has(row.checksum)) continue;
    throw new MigrationError(
      `Migration ${row.name} was changed after it was applied (its checksum differs from the one recorded in _prisma_migrations): ` +
        'restore its migration.sql and put the change in a new migration.',
    );
  }
}

/** The SHA-256 of a migration's text as it is, with LF and with CRLF line endings. */
function checksumsOf(sql: string): Set<string> {
  const lf = sql.replace(/\r\n/g, '\n');
  return new Set([sql, lf, lf.replace(/\n/g, '\r\n')].map((text) => crypto.createHash('sha256').update(text).digest('hex')));
}

function failureLog(error: unknown): string {
  return `Migration failed: ${error instanceof Error ? error.message : String(error)}`;
}

function openSqliteTarget(databaseUrl: string): MigrationTarget {
  prepareSqliteFiles(databaseUrl);
  const database = new BetterSqlite3(sqliteFilePath(databaseUrl), { timeout: 5000 });
  // Prisma's SQLite timestamps: ISO 8601 with milliseconds and an explicit UTC offset.
  const now = () => new Date().toISOString().replace('Z', '+00:00');
  return {
    async readApplied() {
      let rows: { migration_name: string; checksum: string; finished_at: string | null; rolled_back_at: string | null }[];
      try {
        rows = database
          .prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations')
          .all() as typeof rows;
      } catch (error) {
        if (/no such table/.test((error as Error).message)) return undefined;
        throw error;
      }
      return rows.map((row) => ({
        name: row.migration_name,
        checksum: row.checksum,
        finished: row.finished_at !== null,
        rolledBack: row.rolled_back_at !== null,
      }));
    },
    // Prisma takes no lock on SQLite either: one file serves one instance.
    withLock: (work) => work(),
    async createHistoryTable() {
      database.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`);
    },
    async apply(migration) {
      const id = crypto.randomUUID();
      database
        .prepare('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)')
        .run(id, migration.checksum, migration.name, now());
      try {
        // Like Prisma: the script as one batch, outside a transaction (it may switch foreign keys off).
        database.exec(migration.sql);
      } catch (error) {
        database.prepare('UPDATE _prisma_migrations SET logs = ? WHERE id = ?').run(failureLog(error), id);
        throw new MigrationError(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      database.prepare('UPDATE _prisma_migrations SET applied_steps_count = 1, finished_at = ? WHERE id = ?').run(now(), id);
    },
    async close() {
      database.close();
    },
  };
}

async function openPostgresTarget(databaseUrl: string): Promise<MigrationTarget> {
  // Loaded only for PostgreSQL, so a SQLite start does not pay for it.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  // An idle connection dropped by the server must surface as a failed query, not an unhandled 'error' event.
  client.on('error', () => {});
  await client.connect();
  return {
    async readApplied() {
      try {
        const { rows } = await client.query<{ migration_name: string; checksum: string; finished: boolean; rolled_back: boolean }>(
          'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations',
        );
        return rows.map((row) => ({
          name: row.migration_name,
          checksum: row.checksum,
          finished: row.finished,
          rolledBack: row.rolled_back,
        }));
      } catch (error) {
        if ((error as { code?: string }).code === '42P01') return undefined;
        throw error;
      }
    },
    async withLock(work) {
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
      }
    },
    async createHistoryTable() {
      await client.query(`CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`);
    },
    async apply(migration) {
      const id = crypto.randomUUID();
      await client.query(
        'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
        [id, migration.checksum, migration.name],
      );
      try {
        // A multi-statement simple query runs as one implicit transaction: a failure leaves nothing half-applied.
        await client.query(migration.sql);
      } catch (error) {
        await client.query('UPDATE _prisma_migrations SET logs = $1 WHERE id = $2', [failureLog(error), id]);
        throw new MigrationError(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      await client.query('UPDATE _prisma_migrations SET applied_steps_count = 1, finished_at = now() WHERE id = $1', [id]);
    },
    async close() {
      await client.end();
    },
  };
}
