// npm run migrate: applies pending migrations to DATABASE_URL, for operators who migrate as a release step (MIGRATE_ON_START=false).
import '../load-env.ts';
import { parseSettings, settingsSchema } from '../config.ts';
import { redactDatabaseUrl } from '../db/database-url.ts';
import { applyMigrations } from '../db/migrations.ts';

const parsed = parseSettings(settingsSchema.pick({ DATABASE_URL: true }), process.env);
if (!parsed.ok) {
  for (const problem of parsed.problems) console.error(problem);
  process.exit(2);
}
const databaseUrl = parsed.settings.DATABASE_URL;
try {
  const applied = await applyMigrations(databaseUrl);
  console.log(
    applied.length === 0
      ? `${redactDatabaseUrl(databaseUrl)} is up to date.`
      : `Applied to ${redactDatabaseUrl(databaseUrl)}: ${applied.join(', ')}`,
  );
} catch (error) {
  console.error(`Migrations failed: ${(error as Error).message}`);
  process.exit(1);
}
