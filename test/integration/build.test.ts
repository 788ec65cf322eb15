import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm start`'s launcher in a small project of its own: the real scripts and tsconfig files, a two-file src/. */
function createProject(): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-build-'));
  fs.mkdirSync(path.join(project, 'scripts'));
  fs.mkdirSync(path.join(project, 'src'));
  for (const file of ['package.json', 'scripts/build.mjs', 'scripts/start.mjs', 'tsconfig.json', 'tsconfig.build.json']) {
    fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  fs.writeFileSync(
    path.join(project, 'src', 'server.ts'),
    "import { message } from './message.ts';\nconsole.log(message satisfies string);\n",
  );
  writeMessage(project, 'first build');
  // Sources older than the first build, whatever the file system's timestamp resolution.
  const earlier = new Date(Date.now() - 60_000);
  for (const file of ['src/server.ts', 'src/message.ts', 'tsconfig.json', 'tsconfig.build.json'])
    fs.utimesSync(path.join(project, file), earlier, earlier);
  return project;
}

function writeMessage(project: string, message: string): void {
  fs.writeFileSync(path.join(project, 'src', 'message.ts'), `export const message: string = ${JSON.stringify(message)};\n`);
}

function start(project: string) {
  const run = spawnSync(process.execPath, [path.join(project, 'scripts', 'start.mjs')], {
    cwd: os.tmpdir(),
    encoding: 'utf8',
    timeout: COMMAND_TIME_LIMIT_MS,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm start runs compiled JavaScript, compiled when the sources changed', () => {
  let project: string;
  before(() => {
    project = createProject();
  });
  after(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  it('when dist/ is missing, then it compiles src/ (rewriting the .ts imports) and runs dist/server.js', () => {
    const run = start(project);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Compiling src\/ to dist\//);
    assert.equal(run.stdout, 'first build\n');
    assert.match(fs.readFileSync(path.join(project, 'dist', 'server.js'), 'utf8'), /from '\.\/message\.js'/);
  });

  it('when nothing changed since the build, then it runs dist/ without compiling again', () => {
    const builtAt = fs.statSync(path.join(project, 'dist', 'server.js')).mtimeMs;
    const run = start(project);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, 'first build\n');
    assert.equal(fs.statSync(path.join(project, 'dist', 'server.js')).mtimeMs, builtAt);
  });

  it('when a source changed after the build, then it compiles again and runs the new code', () => {
    writeMessage(project, 'second build');
    const run = start(project);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Compiling src\/ to dist\//);
    assert.equal(run.stdout, 'second build\n');
  });

  it('when src/ does not compile, then it exits 1 with the reason and runs nothing', () => {
    fs.writeFileSync(path.join(project, 'src', 'server.ts'), 'console.log("must not run");\nconst = ;\n');
    const run = start(project);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /o365-signin cannot start: tsc could not compile src\//);
    assert.equal(run.stdout.includes('must not run'), false);
  });
});
