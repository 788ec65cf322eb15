import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.ts';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';

const TSX_LOADER = import.meta.resolve('tsx');
const script = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

describe('settings of the scripts and the local provider', () => {
  let cwd: string;
  before(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-entry-'));
  });
  after(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  // Each runs in an empty folder (no .env of the developer's), with only the variables given.
  function run(relative: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', TSX_LOADER, script(relative)], {
        cwd,
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: COMMAND_TIME_LIMIT_MS,
        killSignal: 'SIGKILL',
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it('when the local provider gets a port with trailing junk and no client, then it exits 1 with one line for each bad variable', async () => {
    const { code, stderr } = await run('dev/idp/main.ts', { DEMO_IDP_PORT: '5701x', O365_APP_KEY: 'a-secret' });
    assert.equal(code, 1);
    assert.match(stderr, /^ {2}- O365_APP_ID is missing: copy the Application \(client\) ID/m);
    assert.match(stderr, /^ {2}- DEMO_IDP_PORT "5701x" is not valid: use a port number such as 5001\.$/m);
    assert.doesNotMatch(stderr, /O365_APP_KEY is/, 'the secret given is not reported');
  });

  it('when npm run migrate gets a bad DATABASE_URL, then it exits 2 with the line npm start gives', async () => {
    const env = { DATABASE_URL: 'mysql://user:pw@db/app' };
    const parsed = parseConfig(env);
    const startLine = parsed.ok ? undefined : parsed.problems.find((line) => line.startsWith('DATABASE_URL'));
    assert.ok(startLine !== undefined);
    const { code, stderr } = await run('src/cli/migrate.ts', env);
    assert.equal(code, 2);
    assert.equal(stderr, `${startLine}\n`);
  });

  it('when npm run rotate-key gets a malformed previous key, then it exits 1 naming the entry, before opening any database', async () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const { code, stderr } = await run('src/cli/rotate-key.ts', {
      TOKEN_ENCRYPTION_KEY: key,
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: `${key},short`,
      DATABASE_URL: `file:${path.join(cwd, 'data', 'app.db')}`,
    });
    assert.equal(code, 1);
    assert.match(stderr, /^TOKEN_ENCRYPTION_KEYS_PREVIOUS entry 2 is not 32 bytes in base64/);
    assert.deepEqual(fs.readdirSync(cwd), [], 'no database folder created');
  });

  it('when npm run rotate-key has no TOKEN_ENCRYPTION_KEY, then it exits 1 asking for the new key', async () => {
    const { code, stderr } = await run('src/cli/rotate-key.ts', { DATABASE_URL: `file:${path.join(cwd, 'data', 'app.db')}` });
    assert.equal(code, 1);
    assert.equal(stderr, 'TOKEN_ENCRYPTION_KEY must be the new key: 32 random bytes in base64 (openssl rand -base64 32).\n');
  });
});
