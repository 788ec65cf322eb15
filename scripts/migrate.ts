// npm run migrate: applies pending migrations to DATABASE_URL, for operators who migrate as a release step (MIGRATE_ON_START=false).
import '../src/load-env.ts';
import { checkDatabaseUrl, DEFAULT_DATABASE_URL, redactDatabaseUrl } from '../src/db/database-url.ts';
import { applyMigrations } from '../src/db/migrations.ts';

const databaseUrl = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
const problem = checkDatabaseUrl(databaseUrl);
if (problem !== undefined) {
  console.error(problem);
  process.exit(2);
}
try {
  const applied = await applyMigrations(databaseUrl);
  console.log(applied.length === 0
    ? `${redactDatabaseUrl(databaseUrl)} is up to date.`
    : `Applied to ${redactDatabaseUrl(databaseUrl)}: ${applied.join(', ')}`);
} catch (error) {
  console.error(`Migrations failed: ${(error as Error).message}`);
  process.exit(1);
}
