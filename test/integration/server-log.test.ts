import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, it } from 'node:test';
import { COMMAND_TIME_LIMIT_MS, waitUntil } from '../support/bounded-waits.ts';

const TSX_LOADER = import.meta.resolve('tsx');
const LOG_MODULE = import.meta.resolve('../../src/log.ts');

/** A Node process whose logger is the server's (createProcessLogger in production: JSON lines on a stderr pipe, gathered) running `body`. */
function startWithServerLogger(body: string): {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const script = `const { createProcessLogger } = await import(${JSON.stringify(LOG_MODULE)});
const logger = await createProcessLogger({ production: true });
${body}`;
  const child = spawn(process.execPath, ['--import', TSX_LOADER, '--input-type=module', '-e', script], {
    timeout: COMMAND_TIME_LIMIT_MS,
    killSignal: 'SIGKILL',
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { child, stderr: () => stderr, exited };
}

const messages = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { message: string }).message);

describe("the server's log on stderr (lines gathered and written in batches)", () => {
  it('when the server logs one line and then stays quiet, then the line reaches stderr while it runs, not only at its exit', async () => {
    // The process never ends by itself: a line held until the exit would never be seen.
    const server = startWithServerLogger(`logger.info('quiet line', { n: 1 });\nsetInterval(() => {}, 1000);`);
    try {
      await waitUntil(() => messages(server.stderr()).includes('quiet line'), 'the line on stderr');
      assert.equal(server.child.exitCode, null, 'still running');
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it('when the process exits right after logging, then every line it logged is on stderr, in order', async () => {
    const run = startWithServerLogger(`for (let n = 0; n < 50; n += 1) logger.info('line ' + n);\nprocess.exit(3);`);
    assert.equal(await run.exited, 3);
    assert.deepEqual(
      messages(run.stderr()),
      Array.from({ length: 50 }, (_, n) => `line ${n}`),
    );
  });

  it('when an uncaught exception ends the process, then the lines logged before it are on stderr', async () => {
    const run = startWithServerLogger(`logger.warn('before the crash', { step: 1 });\nsetImmediate(() => { throw new Error('boom'); });`);
    assert.notEqual(await run.exited, 0);
    assert.deepEqual(messages(run.stderr()), ['before the crash']);
    assert.match(run.stderr(), /Error: boom/);
  });
});
