import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteFilePath } from './database-url.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs `prisma migrate deploy` for this database when a migration is pending, so a fresh clone needs no manual step.
 * Resolves with its output ('' when nothing was pending).
 */
export async function applyMigrations(databaseUrl: string): Promise<string> {
  // The migration engine opens SQLite in exclusive locking mode, which fails while another process has a WAL database open.
  if (!hasPendingMigrations(databaseUrl)) return '';
  return runMigrateDeploy(databaseUrl);
}

/** True unless the SQLite file exists and records every migration folder as applied. */
function hasPendingMigrations(databaseUrl: string): boolean {
  const file = sqliteFilePath(databaseUrl);
  if (!fs.existsSync(file)) return true;
  const folders = fs.readdirSync(path.join(projectRoot, 'prisma', 'migrations'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const database = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const applied = new Set(database.prepare('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL')
      .pluck().all() as string[]);
    return folders.some((name) => !applied.has(name));
  } catch {
    return true;
  } finally {
    database.close();
  }
}

function runMigrateDeploy(databaseUrl: string): Promise<string> {
  const cli = path.join(projectRoot, 'node_modules', 'prisma', 'build', 'index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`prisma migrate deploy failed (exit ${code}):\n${output.trim()}`));
    });
  });
}
