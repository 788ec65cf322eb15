import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm start`'s and the commands' launchers in a small project of their own: the real scripts and tsconfig files, a small src/. */
function createProject(options: { developmentTools: boolean }): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-build-'));
  fs.mkdirSync(path.join(project, 'scripts'));
  fs.mkdirSync(path.join(project, 'src', 'cli'), { recursive: true });
  for (const file of [
    'package.json',
    'scripts/build.mjs',
    'scripts/bundle-server.mjs',
    'scripts/start.mjs',
    'scripts/cli.mjs',
    'tsconfig.json',
    'tsconfig.build.json',
  ]) {
    fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
  }
  if (options.developmentTools) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  fs.writeFileSync(
    path.join(project, 'src', 'server.ts'),
    "import { message } from './message.ts';\nconsole.log(message satisfies string);\n",
  );
  fs.writeFileSync(
    path.join(project, 'src', 'cli', 'token.ts'),
    "import { message } from '../message.ts';\nconsole.log(['token:', message, ...process.argv.slice(2)].join(' '));\n",
  );
  writeMessage(project, 'first build');
  // Sources older than the first build, whatever the file system's timestamp resolution.
  const earlier = new Date(Date.now() - 60_000);
  for (const file of ['src/server.ts', 'src/message.ts', 'src/cli/token.ts', 'tsconfig.json', 'tsconfig.build.json'])
    fs.utimesSync(path.join(project, file), earlier, earlier);
  return project;
}

function writeMessage(project: string, message: string): void {
  fs.writeFileSync(path.join(project, 'src', 'message.ts'), `export const message: string = ${JSON.stringify(message)};\n`);
}

function runScript(project: string, script: string, args: string[] = []) {
  const run = spawnSync(process.execPath, [path.join(project, 'scripts', script), ...args], {
    cwd: os.tmpdir(),
    encoding: 'utf8',
    timeout: COMMAND_TIME_LIMIT_MS,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm start runs the compiled JavaScript that npm run build made, and never compiles', () => {
  let project: string;
  before(() => {
    project = createProject({ developmentTools: true });
  });
  after(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  it('when dist/ is missing, then npm start exits 1 with one line that says to run npm run build, and compiles nothing', () => {
    const run = runScript(project, 'start.mjs');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'o365-signin cannot start: dist/server.js is missing: run npm run build first.\n');
    assert.equal(run.stdout, '');
    assert.equal(fs.existsSync(path.join(project, 'dist')), false);
  });

  it('when npm run build compiled src/ (rewriting the .ts imports) and bundled the server, then npm start runs dist/server.js and says nothing else', () => {
    const build = runScript(project, 'build.mjs');
    assert.equal(build.code, 0, build.stderr);
    // The commands run tsc's output file by file; npm start runs the bundle, which holds the module it imports.
    assert.match(fs.readFileSync(path.join(project, 'dist', 'cli', 'token.js'), 'utf8'), /from '\.\.\/message\.js'/);
    const server = fs.readFileSync(path.join(project, 'dist', 'server.js'), 'utf8');
    assert.doesNotMatch(server, /from '\.\/message/);
    assert.match(server, /"first build"/);
    const run = runScript(project, 'start.mjs');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, 'first build\n');
  });

  it('when a source changed after the build, then npm start runs the older build without compiling, and says so in one line', () => {
    const builtAt = fs.statSync(path.join(project, 'dist', 'server.js')).mtimeMs;
    writeMessage(project, 'second build');
    const run = runScript(project, 'start.mjs');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'first build\n');
    assert.match(
      run.stderr,
      /^o365-signin: src\/ changed since the last npm run build: starting the older dist\/ \(run npm run build to include the changes\)\.\n$/,
    );
    assert.equal(fs.statSync(path.join(project, 'dist', 'server.js')).mtimeMs, builtAt);
  });

  it('when a command runs in a development checkout whose dist/ is older than src/, then it runs the TypeScript source through tsx', () => {
    const run = runScript(project, 'cli.mjs', ['token', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'token: second build --json\n');
    assert.equal(run.stderr, '');
  });

  it('when src/ does not compile, then npm run build exits 1 with the reason', () => {
    fs.writeFileSync(path.join(project, 'src', 'server.ts'), 'console.log("must not run");\nconst = ;\n');
    const run = runScript(project, 'build.mjs');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /npm run build failed: tsc could not compile src\//);
    assert.equal(run.stdout.includes('must not run'), false);
  });
});

describe('the commands (npm run token, setup, rotate-key, migrate) without development tools', () => {
  let project: string;
  before(() => {
    project = createProject({ developmentTools: false });
  });
  after(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  it('when dist/ is missing and tsx is not installed, then the command exits 1 with one line that says to run npm run build', () => {
    const run = runScript(project, 'cli.mjs', ['token']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'npm run token: dist/cli/token.js is missing: run npm run build first.\n');
    assert.equal(run.stdout, '');
  });

  it('when dist/ holds the compiled command, then it runs that with its options, even where src/ is newer', () => {
    fs.mkdirSync(path.join(project, 'dist', 'cli'), { recursive: true });
    fs.writeFileSync(path.join(project, 'dist', 'cli', 'token.js'), "console.log(['compiled', ...process.argv.slice(2)].join(' '));\n");
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(project, 'src', 'message.ts'), later, later);
    const run = runScript(project, 'cli.mjs', ['token', '--user', 'adele']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'compiled --user adele\n');
    assert.equal(run.stderr, '');
  });

  it('when the command is not one of the four, then it exits 2 with the usage', () => {
    const run = runScript(project, 'cli.mjs', ['demo']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^usage: node scripts\/cli\.mjs <token\|setup\|rotate-key\|migrate>/);
  });
});
