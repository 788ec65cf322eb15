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

/** Creates the folder of the SQLite file so a fresh clone needs no manual step. */
export function ensureDatabaseDirectory(databaseUrl: string): void {
  fs.mkdirSync(path.dirname(sqliteFilePath(databaseUrl)), { recursive: true });
}
