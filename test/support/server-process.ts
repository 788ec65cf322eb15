import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from '../../scripts/build.mjs';

// What `npm start` runs: the compiled app in dist/. npm start never compiles; the tests build first when src/ changed,
// so they never run an older build than the sources they test.
const START = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The address in the logger's "listening" line, once that line is complete. */
export function loggedUrl(stderr: string): string | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const entry = JSON.parse(line) as { message?: string; url?: string };
      if (entry.message === 'listening') return entry.url;
    } catch {
      // Not a whole line yet.
    }
  }
  return undefined;
}

/**
 * Runs `npm start`'s entry in an empty folder (no .env) until it exits, or until `until` matches stdout;
 * then `whileRunning` gets the address it listens on, and SIGTERM stops it.
 */
export function runServer(
  env: Record<string, string>,
  until?: RegExp,
  whileRunning: (url: string) => Promise<void> = async () => {},
  nodeArguments: string[] = [],
): Promise<Run> {
  buildIfStale();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-start-'));
  return runUntilReady(process.execPath, [...nodeArguments, START], { cwd, env }, until, whileRunning).finally(() =>
    fs.rmSync(cwd, { recursive: true, force: true }),
  );
}

/**
 * Runs a server command (`file` with `args`, only PATH and `env` in its environment) until it exits, or until `until`
 * matches stdout and it logged its address; then `whileRunning` gets that address, and SIGTERM stops it. With
 * `processGroup`, the command runs in a process group of its own and the signals go to the whole group: `npm start`
 * runs the app under a shell that does not pass SIGTERM on.
 */
export function runUntilReady(
  file: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; processGroup?: boolean },
  until?: RegExp,
  whileRunning: (url: string) => Promise<void> = async () => {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.processGroup === true,
    });
    const signal = (name: NodeJS.Signals) => {
      if (options.processGroup === true && child.pid !== undefined) process.kill(-child.pid, name);
      else child.kill(name);
    };
    let stdout = '';
    let stderr = '';
    let signalled = false;
    let failure: unknown;
    const timer = setTimeout(() => signal('SIGKILL'), 60_000);
    // The address is logged on stderr, the ready line printed on stdout: wait for both.
    const stopWhenReady = () => {
      const url = loggedUrl(stderr);
      if (signalled || until === undefined || !until.test(stdout) || url === undefined) return;
      signalled = true;
      whileRunning(url)
        .catch((error: unknown) => {
          failure = error;
        })
        .finally(() => signal('SIGTERM'));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      stopWhenReady();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      stopWhenReady();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure === undefined) resolve({ code, stdout, stderr });
      else reject(failure as Error);
    });
  });
}
