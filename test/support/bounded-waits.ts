/** How long a test waits for what takes milliseconds when the code works: past it the test fails instead of hanging. */
const WAIT_LIMIT_MS = 10_000;

/** Resolves once `condition()` holds (looked at every 5 ms); throws, naming `what`, when it has not held within the limit. */
export async function waitUntil(condition: () => boolean, what: string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  for (const deadline = Date.now() + limitMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * How long a test lets a command it runs (a CLI, a migration, a build) take before the child is killed: a child that
 * hangs then fails its test instead of keeping the test file alive. Pass it as spawn's and spawnSync's `timeout`.
 */
export const COMMAND_TIME_LIMIT_MS = 60_000;

/** How long a server process a test started may take to exit after SIGTERM (its own shutdown grace is 10 s) before it is killed. */
export const PROCESS_STOP_LIMIT_MS = 20_000;
