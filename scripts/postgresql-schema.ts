// npm run db:generate (also postinstall): derives prisma/postgresql/schema.prisma from prisma/schema.prisma,
// then generates the SQLite and the PostgreSQL client.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSettings, settingsSchema } from '../src/config.ts';
import { DEFAULT_DATABASE_URL } from '../src/db/database-url.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The one data model, written for SQLite; the PostgreSQL schema is derived from it. */
export const SQLITE_SCHEMA = path.join(projectRoot, 'prisma', 'schema.prisma');
/** The derived PostgreSQL schema (generated, checked in so a reader sees what PostgreSQL gets). */
export const POSTGRES_SCHEMA = path.join(projectRoot, 'prisma', 'postgresql', 'schema.prisma');
/** The PostgreSQL schema as of the newest PostgreSQL migration; only `npm run db:pg-migration` writes it. */
export const POSTGRES_MIGRATED_SCHEMA = path.join(projectRoot, 'prisma', 'postgresql', 'migrated.prisma');
export const POSTGRES_MIGRATIONS = path.join(projectRoot, 'prisma', 'postgresql', 'migrations');

const HEADER = '// Generated from prisma/schema.prisma by scripts/postgresql-schema.ts: edit that file, not this one.\n';

/**
 * The SQLite schema with only the datasource provider and the client's output folder changed,
 * so both generated clients have identical models. Throws when either line is not where it is expected.
 */
export function derivePostgresSchema(sqliteSchema: string): string {
  const provider = /(datasource db \{[^}]*?provider\s*=\s*)"sqlite"/;
  const output = /(generator client \{[^}]*?output\s*=\s*)"\.\.\/src\/generated\/prisma"/;
  if (!provider.test(sqliteSchema)) throw new Error('prisma/schema.prisma: no `provider = "sqlite"` in `datasource db`');
  if (!output.test(sqliteSchema)) throw new Error('prisma/schema.prisma: no `output = "../src/generated/prisma"` in `generator client`');
  return HEADER + sqliteSchema.replace(provider, '$1"postgresql"').replace(output, '$1"../../src/generated/prisma-pg"');
}

/** Writes the derived schema; returns true when it changed. */
export function writePostgresSchema(): boolean {
  const derived = derivePostgresSchema(fs.readFileSync(SQLITE_SCHEMA, 'utf8'));
  const current = fs.existsSync(POSTGRES_SCHEMA) ? fs.readFileSync(POSTGRES_SCHEMA, 'utf8') : undefined;
  if (current === derived) return false;
  fs.mkdirSync(path.dirname(POSTGRES_SCHEMA), { recursive: true });
  fs.writeFileSync(POSTGRES_SCHEMA, derived);
  return true;
}

/** Runs `prisma generate` for one schema; the PostgreSQL schema's env("DATABASE_URL") must look like a PostgreSQL URL. */
function generateClient(schema: string, databaseUrl: string): void {
  const result = spawnSync(
    process.execPath,
    [path.join(projectRoot, 'node_modules', 'prisma', 'build', 'index.js'), 'generate', '--schema', schema],
    {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Generates the SQLite and the PostgreSQL Prisma client (src/generated/prisma, src/generated/prisma-pg). */
export function generateClients(): void {
  const settings = parseSettings(settingsSchema.pick({ DATABASE_URL: true }), process.env);
  generateClient(
    SQLITE_SCHEMA,
    settings.ok && settings.settings.DATABASE_URL.startsWith('file:') ? settings.settings.DATABASE_URL : DEFAULT_DATABASE_URL,
  );
  generateClient(POSTGRES_SCHEMA, 'postgresql://localhost/o365_signin');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (writePostgresSchema()) console.log('prisma/postgresql/schema.prisma updated from prisma/schema.prisma');
  if (process.argv.includes('--generate')) generateClients();
}
