import crypto from 'node:crypto';
import type http from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppLogger } from '../log.ts';

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

/**
 * One line per request once it is answered: method, route, status, duration and request id. The id goes back in
 * `X-Request-Id`, onto the error page and onto every line logged through `req.log`. /healthz, and /readyz while ready, are not logged.
 */
export function createRequestLog(logger: AppLogger, options: { trustIncomingId: boolean }): RequestHandler {
  const fields = (req: http.IncomingMessage, res: http.ServerResponse, durationMs: number) => ({
    method: req.method,
    route: loggedPath((req as { originalUrl?: string }).originalUrl ?? req.url),
    status: res.statusCode,
    durationMs,
  });
  const message = (_req: http.IncomingMessage, res: http.ServerResponse) => (res.writableEnded ? 'request completed' : 'request aborted');
  return pinoHttp({
    logger,
    quietReqLogger: true,
    quietResLogger: true,
    // Nothing of the request object (headers hold cookies) goes into a line or a child logger.
    wrapSerializers: false,
    serializers: { req: () => undefined, res: () => undefined, err: () => undefined },
    customAttributeKeys: { reqId: 'requestId' },
    genReqId: (req, res) => {
      const id = requestIdFor(req.headers['x-request-id'], options.trustIncomingId);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' },
    // An access line: a failure's level and reason are on the line the error page logs with the same request id.
    // Probes of a ready app are not worth a line each; a failed one is.
    customLogLevel: (req, res) => (req.url === '/readyz' && res.statusCode === 200 ? 'silent' : 'info'),
    customSuccessMessage: message,
    customErrorMessage: message,
    customSuccessObject: (req, res, value: { responseTime: number }) => fields(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => fields(req, res, value.responseTime),
  });
}
