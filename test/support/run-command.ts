import { spawn } from 'node:child_process';
import { COMMAND_TIME_LIMIT_MS } from './bounded-waits.ts';

/** What a command that ran to its end printed, and its exit code (-1 when a signal ended it). */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` with `args` until it exits, killed (SIGKILL) past COMMAND_TIME_LIMIT_MS; rejects when it cannot be
 * spawned, so no 'error' event goes unhandled.
 */
export function runCommand(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: COMMAND_TIME_LIMIT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
