import './src/load-env.ts';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { DEFAULT_DATABASE_URL, ensureDatabaseDirectory, isPostgresUrl } from './src/db/database-url.ts';

// schema.prisma reads env("DATABASE_URL"): give the CLI the app's default when .env has none.
process.env.DATABASE_URL ??= DEFAULT_DATABASE_URL;
const url = process.env.DATABASE_URL;
// A PostgreSQL URL selects the derived PostgreSQL schema and its migrations folder (prisma/postgresql/).
const postgres = isPostgresUrl(url);

// The JS engine with a driver adapter runs offline; the classic engines would be downloaded.
export default defineConfig({
  schema: postgres ? path.join('prisma', 'postgresql', 'schema.prisma') : path.join('prisma', 'schema.prisma'),
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => {
    if (postgres) return new PrismaPg({ connectionString: url });
    ensureDatabaseDirectory(url);
    return new PrismaBetterSQLite3({ url });
  },
});
