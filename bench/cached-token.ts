import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './bench-context.ts';
import { canPin } from './processes.ts';
import { appEnvironment, childEnvironment, startApp } from './services.ts';
import { appRoutes, signIn } from './sign-in.ts';
import type { Comparison } from './stats.ts';
import { newComparison } from './stats.ts';

/** The trivial npm script the token command is timed against: npm's own start-up plus a node that prints a constant. */
export const CONSTANT_SCRIPT = 'bench:constant';

interface CommandRun {
  readonly ms: number;
  readonly stdout: string;
}

/** Runs one command to its exit, pinned like the servers, and times it from spawn to exit; a failure fails the bench. */
function runCommand(context: BenchContext, command: readonly string[], env: NodeJS.ProcessEnv): CommandRun {
  const [file, ...args] = context.serverCore !== undefined && canPin ? ['taskset', '-c', String(context.serverCore), ...command] : command;
  const started = performance.now();
  const result = spawnSync(file!, args, { cwd: context.projectRoot, env, encoding: 'utf8' });
  const ms = performance.now() - started;
  // A command that could not be spawned at all (no npm on PATH, no taskset) has no output to show, only an error.
  if (result.error !== undefined) throw new Error(`${command.join(' ')} could not run: ${result.error.message}`);
  if (result.status !== 0 || result.stderr !== '') {
    throw new Error(`${command.join(' ')} exited ${result.status} with: ${result.stderr.slice(0, 500)}`);
  }
  return { ms, stdout: result.stdout };
}

/** Fails the bench unless package.json has the constant script, so the baseline is what the row says it is. */
function assertConstantScript(projectRoot: string): void {
  const scripts = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> })
    .scripts;
  if (scripts?.[CONSTANT_SCRIPT] === undefined)
    throw new Error(`package.json has no "${CONSTANT_SCRIPT}" script to time npm run -s token against`);
}

/**
 * `npm run -s token` printing a signed-in user's cached (unexpired, so never refreshed) access token from a database of
 * its own, against `npm run -s bench:constant`, alternating run by run; each round's figure is the mean of its runs.
 */
export async function measureCachedToken(context: BenchContext, idpOrigin: string, port: number): Promise<Comparison[]> {
  const { settings, progress, account, workDirectory, projectRoot } = context;
  assertConstantScript(projectRoot);
  progress.logPhase('cached token from npm run -s token');
  const databaseFile = path.join(fs.mkdtempSync(path.join(workDirectory, 'token-')), 'app.db');
  const app = await startApp(context, idpOrigin, port, databaseFile);
  try {
    await signIn(appRoutes(app.url), account);
  } finally {
    await app.stop();
  }
  const tokenEnvironment = appEnvironment(context, idpOrigin, port, databaseFile);
  const constantEnvironment = childEnvironment({});
  const token = () => runCommand(context, ['npm', 'run', '-s', 'token'], tokenEnvironment);
  const constant = () => runCommand(context, ['npm', 'run', '-s', CONSTANT_SCRIPT], constantEnvironment);
  // The first run reads the token; a later run that prints another one has refreshed it, which is not the cached path.
  const cachedToken = token().stdout;
  if (!/^[A-Za-z0-9._~+/-]+=*\n$/.test(cachedToken)) throw new Error('npm run -s token did not print one access token alone on stdout');
  const constantOutput = constant().stdout;
  const cachedTokenRow = newComparison({
    key: 'cached-token',
    title: 'npm run -s token, cached token, to exit',
    unit: 'ms',
    baselineName: `npm run -s ${CONSTANT_SCRIPT}`,
    target: { op: '<=', ratio: 2 },
  });
  for (let round = 1; round <= settings.rounds; round += 1) {
    let tokenMs = 0;
    let constantMs = 0;
    for (let run = 0; run < settings.commandRunsPerRound; run += 1) {
      const printed = token();
      if (printed.stdout !== cachedToken)
        throw new Error('npm run -s token printed another token: it refreshed instead of reading the cache');
      tokenMs += printed.ms;
      const baseline = constant();
      if (baseline.stdout !== constantOutput) throw new Error(`npm run -s ${CONSTANT_SCRIPT} printed something else than before`);
      constantMs += baseline.ms;
    }
    cachedTokenRow.ours.push(tokenMs / settings.commandRunsPerRound);
    cachedTokenRow.baseline.push(constantMs / settings.commandRunsPerRound);
    progress.printRound(cachedTokenRow, round);
  }
  return [cachedTokenRow];
}
