import fs from 'node:fs';

/**
 * The file every test process of a run appends the app's log lines to, and (beside it, `.secrets`) the secrets it saw:
 * set by `npm test` (scripts/run-tests.ts), which searches the whole run's logs for those secrets once every suite has
 * run (S35). A test file run on its own writes neither.
 */
export const TEST_LOG_VARIABLE = 'O365_TEST_LOG_FILE';

function runFiles(): { log: string; secrets: string } | undefined {
  const log = process.env[TEST_LOG_VARIABLE];
  return log === undefined || log === '' ? undefined : { log, secrets: `${log}.secrets` };
}

/** Appends one log line (already newline-terminated JSON) to the run's log file, when there is a run. */
export function appendTestLog(line: string): void {
  const files = runFiles();
  if (files !== undefined) fs.appendFileSync(files.log, line.endsWith('\n') ? line : `${line}\n`);
}

/** Records values that must never appear in a log, when there is a run: codes, verifiers, secrets, tokens, cookie values. */
export function recordTestSecrets(values: Iterable<unknown>): void {
  const files = runFiles();
  const lines = [...values]
    .filter((value): value is string => typeof value === 'string' && value.length >= 8)
    .map((value) => JSON.stringify(value));
  if (files !== undefined && lines.length > 0) fs.appendFileSync(files.secrets, `${lines.join('\n')}\n`);
}

/** Everything a run whose log file is `logFile` logged, and every secret it recorded. */
export function readTestRun(logFile: string): { logText: string; secrets: string[] } {
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  const secrets = new Set(
    read(`${logFile}.secrets`)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string),
  );
  return { logText: read(logFile), secrets: [...secrets] };
}

/**
 * What S35 forbids in log text: a line that is not one JSON object, any of `secrets` (shown by its first characters
 * only), an Authorization value, a JWT, a code, state, verifier or client secret in a URL, a session cookie, or the
 * callback's query string. Empty when the text is clean.
 */
export function findLoggedSecrets(logText: string, secrets: readonly string[]): string[] {
  const problems: string[] = [];
  for (const line of logText.split('\n').filter(Boolean)) {
    try {
      JSON.parse(line);
    } catch {
      problems.push(`a line that is not one JSON object: ${line.slice(0, 80)}`);
    }
  }
  for (const secret of secrets)
    if (logText.includes(secret)) problems.push(`a recorded secret: ${secret.slice(0, 6)}… (${secret.length} chars)`);
  const patterns: [RegExp, string][] = [
    [/Bearer\s+[A-Za-z0-9._~+/-]{16,}/i, 'an Authorization header value'],
    [/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, 'a JWT'],
    [/[?&](code|state|code_verifier|client_secret)=[^&"\s]{8,}/, 'a code, state, verifier or secret in a URL'],
    [/o365signin\.sid=s%3A/, 'a session cookie'],
    [/get_token\?/, 'the query string of the callback'],
  ];
  for (const [pattern, what] of patterns) {
    const found = logText.match(pattern);
    if (found !== null) problems.push(`${what}: …${found[0].slice(0, 12)}…`);
  }
  return problems;
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
