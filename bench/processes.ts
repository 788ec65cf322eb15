import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { listeningProcess } from './proc.ts';

/** A server the benchmark started in its own process group. */
export interface Service {
  readonly name: string;
  readonly url: string;
  /** The process that listens (for CPU and memory), which may be a descendant of the one spawned. */
  readonly serverPid: number;
  /** Milliseconds from spawn to the first 200 on the ready path. */
  readonly startMs: number;
  /** SIGTERM to the listening process (so it exits cleanly and writes a CPU profile), then the whole group. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  name: string;
  command: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  port: number;
  /** The CPU core to pin the process to with taskset, if any. */
  core?: number;
  readyPath?: string;
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();

/** True when `taskset` can pin processes to cores here. */
export const canPin = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;

/** Pins this process (every thread) to one core. */
export function pinThisProcess(core: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns a server and waits for the first 200 on its ready path, polling every few milliseconds. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const url = `http://127.0.0.1:${options.port}`;
  const [file, ...args] =
    options.core !== undefined && canPin ? ['taskset', '-c', String(options.core), ...options.command] : options.command;
  const started = performance.now();
  // Output goes to a file, as a service manager would take it: reading a pipe here would load the process that runs the load.
  const outputDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-output-'));
  const outputFile = path.join(outputDirectory, 'output.log');
  const outputFd = fs.openSync(outputFile, 'w');
  const child = spawn(file!, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', outputFd, outputFd] });
  fs.closeSync(outputFd);
  running.add(child);
  const readOutput = () => fs.readFileSync(outputFile, 'utf8').slice(-4000);
  let hasExited = false;
  let lastOutput = '';
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      hasExited = true;
      lastOutput = readOutput();
      fs.rmSync(outputDirectory, { recursive: true, force: true });
      resolve();
    }),
  );
  const output = () => (hasExited ? lastOutput : readOutput());
  let spawnError: Error | undefined;
  // A command that cannot be spawned (EACCES, ENOENT) emits 'error' and never 'exit'.
  child.once('error', (error) => {
    spawnError = error;
    running.delete(child);
    fs.rmSync(outputDirectory, { recursive: true, force: true });
  });

  const deadline = started + (options.timeoutMs ?? 60_000);
  let startMs: number | undefined;
  while (startMs === undefined) {
    if (spawnError !== undefined) throw new Error(`${options.name} could not start: ${spawnError.message}`);
    if (hasExited) throw new Error(`${options.name} exited before it answered (exit ${child.exitCode}):\n${output()}`);
    if (performance.now() > deadline) {
      killGroup(child);
      throw new Error(`${options.name} did not answer 200 on ${options.readyPath ?? '/'} in time:\n${output()}`);
    }
    try {
      const response = await fetch(`${url}${options.readyPath ?? '/'}`, { redirect: 'manual' });
      await response.arrayBuffer();
      if (response.status === 200) startMs = performance.now() - started;
    } catch {
      // Not listening yet.
    }
    if (startMs === undefined) await sleep(5);
  }

  const serverPid = listeningProcess(child.pid!, options.port);
  if (serverPid === undefined) {
    killGroup(child);
    throw new Error(`${options.name} answers on port ${options.port} but no process under ${child.pid} listens there`);
  }
  return {
    name: options.name,
    url,
    serverPid,
    startMs,
    async stop() {
      if (hasExited) return;
      try {
        process.kill(serverPid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) killGroup(child);
      await exited;
    },
  };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Kills every process group this benchmark started and that is still running (on errors and Ctrl-C). */
export function killAllServices(): void {
  for (const child of running) killGroup(child);
}
