import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_APP_ID, TEST_APP_KEY } from './harness.ts';
import type { Harness } from './harness.ts';
import { COMMAND_TIME_LIMIT_MS } from './bounded-waits.ts';
import { runCommand } from './run-command.ts';
import type { CommandResult } from './run-command.ts';

const SCRIPT = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
// The child runs in an empty folder (no .env of the developer's); tsx is loaded by absolute URL.
const TSX_LOADER = import.meta.resolve('tsx');
// `npm run token`'s own launcher: with dist/ current it runs dist/cli/token.js, with no TypeScript loader.
const LAUNCHER = fileURLToPath(new URL('../../scripts/cli.mjs', import.meta.url));
const MODULE_TRACE = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));
const BUILD = new URL('../../scripts/build.mjs', import.meta.url).href;

/** Runs `npm run token` (src/cli/token.ts) as its own process against the harness's provider and database. */
export function runTokenScript(harness: Harness, args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return runInEmptyFolder(harness, ['--import', TSX_LOADER, SCRIPT, ...args], env);
}

/** What the compiled command printed, and the URL of every module its process loaded (module-trace.mjs). */
export interface TracedCommandResult extends CommandResult {
  readonly modules: readonly string[];
}

/**
 * Runs the token command as `npm run token` does (scripts/cli.mjs), from dist/ (built first when src/ changed), so with
 * no TypeScript loader, against the harness's provider and database, and lists the modules it loaded.
 */
export async function runCompiledTokenCommand(harness: Harness, args: string[]): Promise<TracedCommandResult> {
  const build = spawnSync(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(BUILD)})).buildIfStale()`], {
    encoding: 'utf8',
    timeout: COMMAND_TIME_LIMIT_MS,
  });
  if (build.status !== 0) throw new Error(`dist/ could not be built: ${build.stderr}`);
  const traceFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-trace-'));
  const traceFile = path.join(traceFolder, 'modules.txt');
  try {
    const result = await runInEmptyFolder(harness, ['--import', MODULE_TRACE, LAUNCHER, 'token', ...args], {
      MODULE_TRACE_FILE: traceFile,
    });
    const modules = fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
    return { ...result, modules };
  } finally {
    fs.rmSync(traceFolder, { recursive: true, force: true });
  }
}

async function runInEmptyFolder(harness: Harness, nodeArguments: string[], env: Record<string, string>): Promise<CommandResult> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-cli-'));
  const scriptEnv = {
    PATH: process.env.PATH,
    O365_APP_ID: TEST_APP_ID,
    O365_APP_KEY: TEST_APP_KEY,
    O365_AUTHORITY_HOST: harness.config.authorityHost,
    GRAPH_BASE_URL: harness.config.graphBaseUrl,
    BASE_URL: harness.baseUrl,
    DATABASE_URL: harness.database.url,
    TOKEN_ENCRYPTION_KEY: harness.config.tokenEncryptionKey.toString('base64'),
    ...env,
  };
  try {
    return await runCommand(process.execPath, nodeArguments, { cwd, env: scriptEnv });
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}
