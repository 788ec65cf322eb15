import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// What `npm start` runs: the compiled app in dist/, compiled first when src/ changed.
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
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-start-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArguments, START], {
      cwd,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    let failure: unknown;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // The address is logged on stderr, the ready line printed on stdout: wait for both.
    const stopWhenReady = () => {
      const url = loggedUrl(stderr);
      if (signalled || until === undefined || !until.test(stdout) || url === undefined) return;
      signalled = true;
      whileRunning(url)
        .catch((error: unknown) => {
          failure = error;
        })
        .finally(() => child.kill('SIGTERM'));
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
      fs.rmSync(cwd, { recursive: true, force: true });
      if (failure === undefined) resolve({ code, stdout, stderr });
      else reject(failure as Error);
    });
  });
}
