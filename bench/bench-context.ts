import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ACCOUNTS } from '../dev/idp/accounts.ts';
import type { TestAccount } from '../dev/idp/types.ts';
import type { BenchOptions } from './options.ts';
import { canPin, killAllServices, pinThisProcess } from './processes.ts';
import type { Progress } from './progress.ts';

/** A relying party's registration at the local provider. */
export interface ClientRegistration {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Everything one run of the bench shares between its measurements, made once by `createBenchContext`. */
export interface BenchContext extends BenchOptions {
  readonly projectRoot: string;
  /** A temporary folder for databases, views and profiles, removed by `closeBenchContext`. */
  readonly workDirectory: string;
  readonly account: TestAccount;
  readonly cores: number;
  /** The core of the servers under test and of the commands timed, if pinned. */
  readonly serverCore: number | undefined;
  /** The core of the load generator (this process) and of the provider, if pinned. */
  readonly clientCore: number | undefined;
  readonly appClient: ClientRegistration;
  readonly eocClient: ClientRegistration;
  readonly sessionSecret: string;
  readonly tokenEncryptionKey: string;
  readonly progress: Progress;
  /** Stops of the processes started outside `startService` (the provider), run on errors and Ctrl-C. */
  readonly stops: Set<() => void>;
}

const registration = (): ClientRegistration => ({
  clientId: crypto.randomUUID(),
  clientSecret: crypto.randomBytes(24).toString('base64url'),
});

/** Fresh secrets, a temporary folder, and this process pinned to its core when the machine allows. */
export function createBenchContext(options: BenchOptions, progress: Progress): BenchContext {
  const cores = os.cpus().length;
  // Servers on the last core, the load generator (this process) and the provider on the first: they never share a core.
  const serverCore = canPin && cores >= 2 ? cores - 1 : undefined;
  const clientCore = serverCore === undefined ? undefined : 0;
  if (clientCore !== undefined) pinThisProcess(clientCore);
  return {
    ...options,
    projectRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
    workDirectory: fs.mkdtempSync(path.join(os.tmpdir(), 'o365-bench-')),
    account: TEST_ACCOUNTS[0]!,
    cores,
    serverCore,
    clientCore,
    appClient: registration(),
    eocClient: registration(),
    sessionSecret: crypto.randomBytes(32).toString('base64url'),
    tokenEncryptionKey: crypto.randomBytes(32).toString('base64'),
    progress,
    stops: new Set(),
  };
}

/** Stops every process the run started that still runs (on errors and Ctrl-C). */
export function stopEverything(context: BenchContext): void {
  killAllServices();
  for (const stop of context.stops) stop();
}

/** Removes the run's temporary folder. */
export function closeBenchContext(context: BenchContext): void {
  fs.rmSync(context.workDirectory, { recursive: true, force: true });
}
