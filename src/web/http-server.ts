import crypto from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { errorSummary } from '../log.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../error-catalogue.ts';
import { HTTP_LIMITS } from './request-limits.ts';
import type { HttpLimits } from './request-limits.ts';
import { loggedPath } from './request-log.ts';
import { rawErrorResponse } from './error-page.ts';
import { createRequestPrototypes } from './request-prototypes.ts';

/** How long a refused connection stays open (not read) after its answer, so the client can read the page. */
const LINGER_MS = 2000;
const DROP_LOG_INTERVAL_MS = 60 * 1000;

type FinalHandler = (error?: unknown) => void;
// Express apps take the final handler as a third argument; @types/express declares only two.
type AppWithFinalHandler = (req: http.IncomingMessage, res: http.ServerResponse, done: FinalHandler) => void;

/**
 * The HTTP server of `npm start`, the demo and the tests, with the limits of S53. `app` is looked up per
 * request, so a test can listen (and learn its port) before it builds the app; its requests are built with the app's
 * prototypes (request-prototypes.ts). Nothing reaches Express's own final handler, and nothing is printed outside the logger.
 */
export function createHttpServer(logger: Logger, app: () => express.Express, limits: HttpLimits = HTTP_LIMITS): http.Server {
  const prototypes = createRequestPrototypes();
  const server = http.createServer({
    IncomingMessage: prototypes.IncomingMessage,
    ServerResponse: prototypes.ServerResponse,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  });
  server.maxConnections = limits.maxConnections;
  server.on('request', (req, res) => {
    const handler = app();
    prototypes.adopt(handler);
    (handler as unknown as AppWithFinalHandler)(req, res, (error) => finishUnhandled(logger, req, res, error));
  });

  const answered = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal = clientErrorRefusal(error, limits.maxHeaderBytes);
    // No Express request exists here: a fresh id, on the line and on the page alike.
    const requestId = crypto.randomUUID();
    logger.warn('request refused before the app', { status: describeError(refusal).status, kind: refusal, reason: error.code, requestId });
    answerRefused(socket, refusal, requestId, appIfBuilt(app));
  });

  let dropped = 0;
  let lastDropLog = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    dropped += 1;
    if (Date.now() - lastDropLog < DROP_LOG_INTERVAL_MS) return;
    logger.warn('connections refused: the server is at its connection limit', { dropped, maxConnections: limits.maxConnections });
    lastDropLog = Date.now();
    dropped = 0;
  });
  capConnectionsPerAddress(server, logger, app, limits.maxConnectionsPerAddress);
  return server;
}

/**
 * Closes a connection as it arrives when its address already holds `cap` open ones, so that one client cannot take
 * every connection of maxConnections. A peer the app trusts as its proxy (Express's compiled TRUST_PROXY, hop 0) is
 * not counted: behind a proxy every client has the proxy's address.
 */
function capConnectionsPerAddress(server: http.Server, logger: Logger, app: () => express.Express, cap: number): void {
  const open = new Map<string, number>();
  let refused = 0;
  let lastRefusalLog = Number.NEGATIVE_INFINITY;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || peerIsTrustedProxy(app, address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > cap) {
      socket.destroy();
      refused += 1;
      if (Date.now() - lastRefusalLog >= DROP_LOG_INTERVAL_MS) {
        logger.warn('connections refused: one address is at its connection limit', { refused, maxConnectionsPerAddress: cap, address });
        lastRefusalLog = Date.now();
        refused = 0;
      }
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** True when the app trusts this peer as a proxy (TRUST_PROXY); false before the app exists. */
function peerIsTrustedProxy(app: () => express.Express, address: string): boolean {
  const trust = appIfBuilt(app)?.get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
  return trust?.(address, 0) === true;
}

/** Only a second failure of a request already answered by the error page gets here (express-session saves after the response). */
function finishUnhandled(fallbackLogger: Logger, req: http.IncomingMessage, res: http.ServerResponse, error: unknown): void {
  const route = loggedPath(req.url);
  if (error !== undefined) {
    const logger: Logger = req.log ?? fallbackLogger;
    logger.error('request failed after its response was sent', {
      path: route,
      status: res.headersSent ? res.statusCode : 500,
      reason: errorSummary(error),
    });
  }
  if (!res.headersSent) {
    res.statusCode = error === undefined ? 404 : 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(error === undefined ? 'Not found.\n' : 'Something went wrong. Try again.\n');
  } else if (!res.writableEnded) {
    res.end();
  }
}

type Refusal = 'request_malformed' | 'request_timeout' | 'url_too_long' | 'headers_too_large';

/** 414 when the request line itself is too long, 431 for too many header bytes, 408 for a slow client, else 400. */
function clientErrorRefusal(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, maxHeaderBytes: number): Refusal {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (error.code !== 'HPE_HEADER_OVERFLOW') return 'request_malformed';
  const packet = error.rawPacket?.toString('latin1') ?? '';
  const lineEnd = packet.indexOf('\r\n');
  // The overflow hit the request line when it has not ended yet, or when it alone takes most of the limit.
  return lineEnd === -1 || (/^[A-Z]+ /.test(packet) && lineEnd > maxHeaderBytes / 2) ? 'url_too_long' : 'headers_too_large';
}

/** The app's own error page, written straight to the socket: the request never became one Express could answer. */
function answerRefused(socket: Duplex, refusal: Refusal, requestId: string, app: express.Express | undefined): void {
  if (!socket.writable) return;
  socket.end(rawErrorResponse(Object.assign({}, describeError(refusal), { details: {} }), requestId, app));
  // Stop reading, but close only after a moment: closing with unread data resets the connection before the client reads the page.
  socket.pause();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** The app, or undefined while a test that listens first has not built it yet. */
function appIfBuilt(app: () => express.Express): express.Express | undefined {
  try {
    return app();
  } catch {
    return undefined;
  }
}
