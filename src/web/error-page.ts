import http from 'node:http';
import path from 'node:path';
import ejs from 'ejs';
import type express from 'express';
import type { Response } from 'express';
import type { ProviderDetails } from '../errors.ts';
import { REQUEST_ID_HEADER } from './request-log.ts';
import { securityHeadersOf } from './security-headers.ts';
import { renderView, VIEWS_DIRECTORY } from './view-engine.ts';

const ERROR_VIEW = path.join(VIEWS_DIRECTORY, 'error.ejs');
/** A header value that could end its line, which a raw response must never write. */
const LINE_BREAK = /[\r\n]/;

/** What one error page says: its status, a title, what happened, how to fix it, and Microsoft's details if any. */
export interface ErrorPage {
  readonly status: number;
  readonly title: string;
  readonly message: string;
  readonly fix: string;
  readonly details: ProviderDetails;
}

/** views/error.ejs for one page; if the view cannot render, the title, message and fix as escaped text. */
function renderErrorPage(page: ErrorPage, requestId: string | undefined, app: express.Application | undefined): string {
  const instanceName: unknown = app?.locals?.instanceName;
  try {
    return renderView(ERROR_VIEW, Object.assign({}, page, { occurredAt: new Date().toISOString(), requestId, instanceName }));
  } catch {
    return `<p>${ejs.escapeXML(`${page.title}. ${page.message} ${page.fix}`)}</p>\n`;
  }
}

/** The headers of every error page, from Express or from the HTTP server: the app's security headers, HTML, never cached. */
function errorPageHeaders(app: express.Application | undefined, requestId: string | undefined): Record<string, string> {
  const headers: Record<string, string> = Object.assign({}, securityHeadersOf(app), {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
  return headers;
}

/** Answers an Express request with the error page. */
export function sendErrorPage(res: Response, page: ErrorPage, requestId: string | undefined): void {
  res
    .status(page.status)
    .set(errorPageHeaders(res.app, requestId))
    .send(renderErrorPage(page, requestId, res.app));
}

/**
 * The whole HTTP response of the error page for a request Express never saw (the HTTP server refused it), to be
 * written straight to its socket; it closes the connection.
 */
export function rawErrorResponse(page: ErrorPage, requestId: string, app: express.Application | undefined): string {
  const body = renderErrorPage(page, requestId, app);
  const headers = Object.entries(
    Object.assign(errorPageHeaders(app, requestId), {
      Date: new Date().toUTCString(),
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    }),
  ).filter(([, value]) => !LINE_BREAK.test(value));
  return [
    `HTTP/1.1 ${page.status} ${http.STATUS_CODES[page.status]}`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
    '',
    body,
  ].join('\r\n');
}
