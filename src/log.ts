import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger, LoggerOptions } from 'pino';

/** A structured logger: an event name and fields. Secrets never reach it: callers log ids and codes only. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The app's logger: called the `Logger` way, with pino underneath (the request log makes a child per request that logs an event). */
export type AppLogger = Logger & PinoLogger;

/** JSON lines (one object each) for machines; pretty lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

// Keys whose values are secrets however they got into a log call.
const SECRET_KEY = /token|secret|password|code|verifier|cookie|authorization|assertion|nonce|state/i;
const SAFE_KEYS = new Set(['error', 'error_codes', 'errorCode', 'aadsts', 'trace_id', 'correlation_id', 'status', 'statusCode']);

const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !SAFE_KEYS.has(key);

/** Whether `redact` would change anything in `value` (the same depth limit): most lines, such as the access line, have nothing to hide. */
function holdsSecretKey(value: unknown, depth: number): boolean {
  if (depth > 5 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => holdsSecretKey(item, depth + 1));
  for (const key of Object.keys(value)) {
    if (isSecretKey(key) || holdsSecretKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** Replaces the values of secret-looking keys with "[redacted]", at any depth; a value without any is returned as it is, not copied. */
export function redact(value: unknown, depth = 0): unknown {
  if (!holdsSecretKey(value, depth)) return value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = isSecretKey(key) ? '[redacted]' : redact(item, depth + 1);
  }
  return result;
}

/** An error in one short line for a log field: its class and the last line of its message (Prisma puts the reason there, after code and paths). */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const lastLine =
    error.message
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  return (error.name === 'Error' ? lastLine : `${error.name}: ${lastLine}`).slice(0, 300);
}

/** Pretty only for a person reading a terminal outside production; production, pipes and files get JSON lines. */
export function chooseLogFormat(options: { production: boolean; terminal: boolean }): LogFormat {
  return !options.production && options.terminal ? 'pretty' : 'json';
}

function pinoOptions(format: LogFormat): LoggerOptions {
  return {
    base: null,
    messageKey: 'message',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // Every line's fields go through the key-name redaction, at any depth (pino's `redact` paths cannot name unknown keys).
      // A child's bindings skip formatters: the only ones here are request ids (web/request-log.ts).
      log: (fields: Record<string, unknown>) => redact(fields) as Record<string, unknown>,
      // The level's name, not pino's number, in JSON; pino-pretty names the numbers itself.
      ...(format === 'json' ? { level: (label: string) => ({ level: label }) } : {}),
    },
    hooks: {
      // Our callers write (message, fields); pino takes (fields, message).
      logMethod(args, method) {
        if (typeof args[0] === 'string' && typeof args[1] === 'object' && args[1] !== null) method.call(this, args[1], args[0]);
        else method.apply(this, args);
      },
    },
  };
}

/** A running server's stderr gathers lines up to this many bytes before it writes them (one system call for a dozen lines). */
const SERVER_LOG_BATCH_BYTES = 4096;
/** …and writes what it gathered at least this often, however quiet the server. */
export const SERVER_LOG_FLUSH_MS = 250;
/** Beyond this much unwritten (stderr blocked), new lines are dropped rather than held: the server keeps serving. */
const SERVER_LOG_BUFFER_LIMIT = 16 * 1024 * 1024;

/**
 * JSON lines to `write`, stderr by default (stdout stays for what commands print, such as `npm run -s token`).
 * Commands write each line at once. A server (`buffered`) gathers its lines and writes them asynchronously, a few
 * kilobytes at a time and at least every SERVER_LOG_FLUSH_MS: a write(2) for every access line was a few percent of
 * the CPU of a sign-in (bench profile). pino writes what is left before the process exits, after an uncaught exception
 * too; only a process killed outright loses the last quarter second of lines.
 */
export function createLogger(write?: (line: string) => void, options: { buffered?: boolean } = {}): AppLogger {
  const destination: DestinationStream =
    write !== undefined
      ? { write }
      : options.buffered === true
        ? pino.destination({
            dest: 2,
            sync: false,
            minLength: SERVER_LOG_BATCH_BYTES,
            periodicFlush: SERVER_LOG_FLUSH_MS,
            maxLength: SERVER_LOG_BUFFER_LIMIT,
          })
        : pino.destination({ dest: 2, sync: true });
  return pino(pinoOptions('json'), destination) as AppLogger;
}

/** pino-pretty's formatter, or undefined where it is not installed: it is a development dependency, absent after `npm prune --omit=dev`. */
async function loadPrettyFactory(): Promise<typeof import('pino-pretty').prettyFactory | undefined> {
  try {
    return (await import('pino-pretty')).prettyFactory;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * The logger of `npm start` and the demo: JSON lines, or pretty ones for a terminal outside production (pino-pretty is
 * loaded only then, and JSON lines stay when a production install left it out). Writes to stderr unless given `write`; `terminal` defaults to whether stderr is one.
 */
export async function createProcessLogger(options: {
  production: boolean;
  terminal?: boolean;
  write?: (line: string) => void;
}): Promise<AppLogger> {
  const terminal = options.terminal ?? process.stderr.isTTY === true;
  if (chooseLogFormat({ production: options.production, terminal }) === 'json') return createLogger(options.write, { buffered: true });
  const prettyFactory = await loadPrettyFactory();
  if (prettyFactory === undefined) return createLogger(options.write, { buffered: true });
  const prettify = prettyFactory({
    messageKey: 'message',
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    colorize: options.write === undefined,
  });
  const write =
    options.write ??
    ((line: string) => {
      process.stderr.write(line);
    });
  return pino(pinoOptions('pretty'), { write: (line: string) => write(prettify(line)) }) as AppLogger;
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: AppLogger = pino({ enabled: false }, { write() {} }) as AppLogger;
