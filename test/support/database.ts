import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db.ts';
import type { Database } from '../../src/db.ts';
import { applyMigrations } from '../../src/migrations.ts';

export interface TestDatabase {
  readonly url: string;
  readonly file: string;
  readonly prisma: Database;
  /** The SQL of every statement the app's client ran so far (BEGIN for each transaction). */
  readonly statements: readonly string[];
  remove(): Promise<void>;
}

let template: Promise<string> | undefined;

/** A migrated SQLite file, made once per test process by the real `prisma migrate deploy`. */
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

/** A fresh, migrated SQLite database in its own temporary folder. */
export async function createTestDatabase(options: { busyTimeoutMs?: number | undefined } = {}): Promise<TestDatabase> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-test-'));
  const file = path.join(folder, 'app.db');
  fs.copyFileSync(await migratedTemplate(), file);
  const url = `file:${file}`;
  const statements: string[] = [];
  const prisma = openDatabase(url, { busyTimeoutMs: options.busyTimeoutMs, onStatement: (sql) => statements.push(sql) });
  return {
    url,
    file,
    prisma,
    statements,
    async remove() {
      await prisma.$disconnect();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Row counts of every table, to assert that a failure wrote nothing. */
export async function countRows(prisma: Database): Promise<{ users: number; tokenSets: number; signedInSessions: number }> {
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
