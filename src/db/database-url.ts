import fs from 'node:fs';
import path from 'node:path';

/** The SQLite file used when DATABASE_URL is not set. */
export const DEFAULT_DATABASE_URL = 'file:./data/app.db';

/** The file path of a `file:` SQLite URL, resolved against the working directory like Prisma does. */
export function sqliteFilePath(databaseUrl: string): string {
  const withoutScheme = databaseUrl.replace(/^file:/, '');
  const withoutQuery = withoutScheme.split('?')[0] ?? withoutScheme;
  return path.resolve(withoutQuery);
}

/** Owner only: the folder of the SQLite file holds sealed tokens and live sessions (and the demo's secrets). */
const PRIVATE_FOLDER_MODE = 0o700;

/** Folders already warned about in this process: migrations and the app open the same file, one warning is enough. */
const warnedFolders = new Set<string>();

/**
 * Creates `folder` 0700, or tightens an existing one to 0700, so no other local user can list or copy the database.
 * When it cannot (another user owns the folder, a read-only file system), `warn` gets one line, once per folder.
 */
export function ensurePrivateFolder(folder: string, warn: (message: string) => void = printWarning): void {
  fs.mkdirSync(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  if ((fs.statSync(folder).mode & 0o777) === PRIVATE_FOLDER_MODE) return;
  try {
    fs.chmodSync(folder, PRIVATE_FOLDER_MODE);
  } catch (error) {
    if (warnedFolders.has(folder)) return;
    warnedFolders.add(folder);
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    warn(
      `the database folder ${folder} could not be made private (chmod 700 failed: ${code}); other local users may read it. ` +
        "Run the app as the folder's owner or move the database (DATABASE_URL) to a folder it owns.",
    );
  }
}

/** Creates the folder of the SQLite file, or tightens it, as ensurePrivateFolder does: a fresh clone needs no manual step. */
export function ensureDatabaseDirectory(databaseUrl: string, warn?: (message: string) => void): void {
  ensurePrivateFolder(path.dirname(sqliteFilePath(databaseUrl)), warn);
}

function printWarning(message: string): void {
  console.error(`warning: ${message}`);
}

/** True for a PostgreSQL URL (`postgresql://` or `postgres://`); anything else that is accepted is a SQLite `file:` URL. */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

/** The URL with its password replaced, for messages and logs. */
export function redactDatabaseUrl(databaseUrl: string): string {
  return databaseUrl.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** A problem with DATABASE_URL, or undefined when it names a SQLite file or a PostgreSQL database. */
export function checkDatabaseUrl(databaseUrl: string): string | undefined {
  if (databaseUrl.startsWith('file:')) return undefined;
  if (isPostgresUrl(databaseUrl)) {
    if (!URL.canParse(databaseUrl) || new URL(databaseUrl).hostname === '') {
      return (
        `DATABASE_URL "${redactDatabaseUrl(databaseUrl)}" is not a valid PostgreSQL URL: ` +
        'use postgresql://user:password@host:5432/database (percent-encode special characters in the password).'
      );
    }
    const poolSize = new URL(databaseUrl).searchParams.get('connection_limit');
    if (poolSize !== null && !(/^\d+$/.test(poolSize) && Number(poolSize) >= 1 && Number(poolSize) <= 1000)) {
      return `DATABASE_URL has connection_limit=${poolSize}: use a pool size between 1 and 1000 (default ${DEFAULT_POOL_SIZE}).`;
    }
    return undefined;
  }
  return (
    `DATABASE_URL "${redactDatabaseUrl(databaseUrl)}" is not supported: ` +
    'use a SQLite file such as file:./data/app.db, or postgresql://user:password@host:5432/database.'
  );
}

/** Connections per instance when the URL has no `connection_limit` (the parameter name Prisma's own engines use). */
export const DEFAULT_POOL_SIZE = 10;

/** The pool size from the URL's `connection_limit`, or the default. */
export function poolSizeOf(databaseUrl: string): number {
  const value = new URL(databaseUrl).searchParams.get('connection_limit');
  return value === null ? DEFAULT_POOL_SIZE : Number(value);
}
