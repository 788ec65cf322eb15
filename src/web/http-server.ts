import crypto from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import type express from 'express';
import { errorSummary } from '../log.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../error-catalogue.ts';
import { HTTP_LIMITS } from './request-limits.ts';
import type { HttpLimits } from './request-limits.ts';
import { loggedPath, REQUEST_ID_HEADER } from './request-log.ts';
import { renderView, VIEWS_DIRECTORY } from './view-engine.ts';

const ERROR_VIEW = path.join(VIEWS_DIRECTORY, 'error.ejs');
/** How long a refused connection stays open (not read) after its answer, so the client can read the page. */
const LINGER_MS = 2000;
const DROP_LOG_INTERVAL_MS = 60 * 1000;

type FinalHandler = (error?: unknown) => void;
// Express apps take the final handler as a third argument; @types/express declares only two.
type AppWithFinalHandler = (req: http.IncomingMessage, res: http.ServerResponse, done: FinalHandler) => void;

/**
 * The HTTP server of `npm start`, the demo and the tests, with the limits of S53. `app` is looked up per
 * request, so a test can listen (and learn its port) before it builds the app. Nothing reaches Express's
 * own final handler, and nothing is printed outside the logger.
 */
export function createHttpServer(logger: Logger, app: () => express.Express, limits: HttpLimits = HTTP_LIMITS): http.Server {
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  });
  server.maxConnections = limits.maxConnections;
  server.on('request', (req, res) => {
    (app() as unknown as AppWithFinalHandler)(req, res, (error) => finishUnhandled(logger, req, res, error));
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
    void answerRefused(socket, refusal, requestId, (app() as { locals?: { instanceName?: unknown } } | undefined)?.locals?.instanceName);
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
  try {
    const trust = app().get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
    return trust?.(address, 0) === true;
  } catch {
    return false;
  }
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
async function answerRefused(socket: Duplex, refusal: Refusal, requestId: string, instanceName: unknown): Promise<void> {
  const { status, ...page } = describeError(refusal);
  let body: string;
  try {
    body = await renderView(ERROR_VIEW, { ...page, details: {}, status, occurredAt: new Date().toISOString(), requestId, instanceName });
  } catch {
    body = `${page.title}. ${page.message}\n`;
  }
  if (!socket.writable) return;
  socket.end(
    [
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
      'Content-Type: text/html; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      `${REQUEST_ID_HEADER}: ${requestId}`,
      "Content-Security-Policy: default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
      'X-Content-Type-Options: nosniff',
      'Referrer-Policy: no-referrer',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
  // Stop reading, but close only after a moment: closing with unread data resets the connection before the client reads the page.
  socket.pause();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
