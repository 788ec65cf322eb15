import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where every test process of this run appends the app's log lines, and the secrets it saw.
 * node --test runs each file in a child of one runner process, so the runner's pid names the run.
 */
export function testLogFile(): string {
  return process.env.O365_TEST_LOG_FILE ?? path.join(os.tmpdir(), `o365-test-run-${process.ppid}.log.jsonl`);
}

function secretsFile(): string {
  return `${testLogFile()}.secrets`;
}

/** Appends one log line (already newline-terminated JSON) to the run's log file. */
export function appendTestLog(line: string): void {
  fs.appendFileSync(testLogFile(), line.endsWith('\n') ? line : `${line}\n`);
}

/** Records values that must never appear in a log: codes, verifiers, secrets, tokens, cookie values. */
export function recordTestSecrets(values: Iterable<unknown>): void {
  const lines = [...values]
    .filter((value): value is string => typeof value === 'string' && value.length >= 8)
    .map((value) => JSON.stringify(value));
  if (lines.length > 0) fs.appendFileSync(secretsFile(), `${lines.join('\n')}\n`);
}

/** Everything this run logged so far, and every secret recorded so far. */
export function readTestRun(): { logText: string; secrets: string[] } {
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  const secrets = new Set(
    read(secretsFile())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string),
  );
  return { logText: read(testLogFile()), secrets: [...secrets] };
}

/** Deletes the run's files (the last test does this once it has read them). */
export function removeTestRun(): void {
  fs.rmSync(testLogFile(), { force: true });
  fs.rmSync(secretsFile(), { force: true });
}

/** The messages of the one access line each request gets (src/web/request-log.ts). */
const REQUEST_LINE_MESSAGES = new Set(['request completed', 'request aborted']);

/** Whether a log line is a request's access line rather than an event (a sign-in, a warning, an error). */
export function isRequestLine(line: string): boolean {
  return REQUEST_LINE_MESSAGES.has((JSON.parse(line) as { message?: string }).message ?? '');
}

/** The event lines among log lines, without the access line each request adds (it may land before or after them). */
export function eventLines(lines: readonly string[]): string[] {
  return lines.filter((line) => !isRequestLine(line));
}
