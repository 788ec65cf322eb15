// npm run build: compiles src/ to dist/ with tsc, for the commands (scripts/cli.mjs), then bundles the server's entry
// into dist/server.js with esbuild (scripts/bundle-server.mjs), for `npm start` (scripts/start.mjs).
// Plain JavaScript: it runs before anything is compiled. The type check is `npm run typecheck`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = path.join(projectRoot, 'src');
const output = path.join(projectRoot, 'dist');
const stamp = path.join(output, '.built');
const configs = ['tsconfig.json', 'tsconfig.build.json'].map((name) => path.join(projectRoot, name));

/** The newest modification time of what the build reads: src/ (the generated Prisma client included) and the tsconfig files. */
function newestSourceTime() {
  let newest = 0;
  for (const entry of fs.readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  for (const config of configs) newest = Math.max(newest, fs.statSync(config).mtimeMs);
  return newest;
}

/** True when dist/ is missing or a source changed after the build that made it started; false where src/ is absent (dist/ deployed alone). */
export function isBuildStale() {
  if (!fs.existsSync(sources)) return false;
  try {
    return newestSourceTime() > fs.statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
}

/** Replaces dist/ with a fresh compilation of src/ and the server's bundle; throws with tsc's or esbuild's exit status when either fails. */
export function build() {
  const startedAt = new Date();
  const tsc = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc))
    throw new Error('TypeScript is not installed: run npm ci (with the development dependencies) before npm run build.');
  fs.rmSync(output, { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(projectRoot, 'tsconfig.build.json')], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`tsc could not compile src/ (exit ${result.status ?? result.signal}).`);
  const bundle = spawnSync(process.execPath, [path.join(projectRoot, 'scripts', 'bundle-server.mjs')], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  if (bundle.status !== 0) throw new Error(`esbuild could not bundle src/server.ts (exit ${bundle.status ?? bundle.signal}).`);
  // Stamped with the start time: a source saved during the build is newer, so the next start builds again.
  fs.writeFileSync(stamp, '');
  fs.utimesSync(stamp, startedAt, startedAt);
}

/** Builds when dist/ is missing or older than src/ (the tests' `npm start`); says so on stderr, because it takes a few seconds. */
export function buildIfStale() {
  if (!isBuildStale()) return;
  process.stderr.write('Compiling src/ to dist/ (the sources changed since the last build)…\n');
  build();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    build();
  } catch (error) {
    process.stderr.write(`npm run build failed: ${error.message}\n`);
    process.exitCode = 1;
  }
}
