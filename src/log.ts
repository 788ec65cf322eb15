/** A structured logger: one JSON object a line. Secrets never reach it: callers log ids and codes only. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

// Keys whose values are secrets however they got into a log call.
const SECRET_KEY = /token|secret|password|code|verifier|cookie|authorization|assertion|nonce|state/i;
const SAFE_KEYS = new Set(['error', 'error_codes', 'errorCode', 'aadsts', 'trace_id', 'correlation_id', 'status', 'statusCode']);

/** Replaces the values of secret-looking keys with "[redacted]", at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = SECRET_KEY.test(key) && !SAFE_KEYS.has(key) ? '[redacted]' : redact(item, depth + 1);
  }
  return result;
}

/** An error in one short line for a log field: its class and the last line of its message (Prisma puts the reason there, after code and paths). */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const lastLine = error.message.split('\n').map((line) => line.trim()).filter(Boolean).at(-1) ?? '';
  return (error.name === 'Error' ? lastLine : `${error.name}: ${lastLine}`).slice(0, 300);
}

/** Writes JSON lines to the given stream (stderr by default). */
export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const log = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...(redact(fields) as object) })}\n`);
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
