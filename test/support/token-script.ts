import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_APP_ID, TEST_APP_KEY } from './harness.ts';
import type { Harness } from './harness.ts';
import { runCommand } from './run-command.ts';
import type { CommandResult } from './run-command.ts';

const SCRIPT = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
// The child runs in an empty folder (no .env of the developer's); tsx is loaded by absolute URL.
const TSX_LOADER = import.meta.resolve('tsx');

/** Runs `npm run token` (src/cli/token.ts) as its own process against the harness's provider and database. */
export async function runTokenScript(harness: Harness, args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
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
    return await runCommand(process.execPath, ['--import', TSX_LOADER, SCRIPT, ...args], { cwd, env: scriptEnv });
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}
