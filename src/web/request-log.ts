import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { AppLogger, Logger } from '../log.ts';

declare module 'http' {
  interface IncomingMessage {
    /** This request's id, set by the request log: in `X-Request-Id`, on the error page and on its log lines. */
    id?: string;
    /** The app's logger with this request's id on every line. */
    log?: Logger;
  }
}

/** The header that carries the request id back to the browser (and, from a trusted proxy, in). */
export const REQUEST_ID_HEADER = 'X-Request-Id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_LOGGED_PATH = 200;

/** The id of one request: a trusted proxy's own `X-Request-Id` when it is plain and short, otherwise a fresh random one. */
export function requestIdFor(incoming: string | string[] | undefined, trustIncoming: boolean): string {
  return trustIncoming && typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** The path a request asked for, never its query string (the callback's carries the code and state). */
export function loggedPath(url: string | undefined): string {
  const path = url ?? '';
  const query = path.indexOf('?');
  return (query === -1 ? path : path.slice(0, query)).slice(0, MAX_LOGGED_PATH);
}

/** The app's logger with one request's id on every line; most requests log no event, so pino's child is made on the first. */
class RequestLogger implements Logger {
  readonly #logger: AppLogger;
  readonly #requestId: string;
  #child: Logger | undefined;

  constructor(logger: AppLogger, requestId: string) {
    this.#logger = logger;
    this.#requestId = requestId;
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#withId().info(message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.#withId().warn(message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.#withId().error(message, fields);
  }

  #withId(): Logger {
    this.#child ??= this.#logger.child({ requestId: this.#requestId });
    return this.#child;
  }
}

/**
 * One line per request once it is answered: method, route, status, duration and request id. The id goes back in
 * `X-Request-Id`, onto the error page and onto every line logged through `req.log`. /healthz, and /readyz while
 * ready, are not logged: probes of a ready app are not worth a line each.
 */
export function createRequestLog(logger: AppLogger, options: { trustIncomingId: boolean }): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const requestId = requestIdFor(req.headers['x-request-id'], options.trustIncomingId);
    req.id = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    req.log = new RequestLogger(logger, requestId);
    if (req.url === '/healthz') {
      next();
      return;
    }
    res.once('close', () => {
      if (req.originalUrl === '/readyz' && res.statusCode === 200) return;
      // An access line: a failure's level and reason are on the event line logged with the same request id.
      logger.info(res.writableFinished ? 'request completed' : 'request aborted', {
        requestId,
        method: req.method,
        route: loggedPath(req.originalUrl),
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      });
    });
    next();
  };
}
