// Run by test/integration/postgres-as-root.test.ts inside a copy of the project: starts the embedded PostgreSQL through
// dev/postgres-server.ts as `npm test` does, asks it one query, and prints what it saw as one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { STAGED_FOLDER_PREFIX } from '../../dev/postgres-binaries.ts';
import { startPostgresServer } from '../../dev/postgres-server.ts';

const listStagedCopies = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(STAGED_FOLDER_PREFIX));

const server = await startPostgresServer();
try {
  const client = new pg.Client({ connectionString: await server.createDatabase() });
  await client.connect();
  try {
    const { rows } = await client.query<{ answer: number }>('SELECT 1 + 1 AS answer');
    console.log(JSON.stringify({ answer: rows[0]?.answer, stagedWhileRunning: listStagedCopies() }));
  } finally {
    await client.end();
  }
} finally {
  await server.close();
}
