import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { adviceFor } from '../auth/aadsts-advice.ts';
import { describeError } from '../error-catalogue.ts';
import { AppError } from '../errors.ts';
import { errorSummary } from '../log.ts';
import type { Logger } from '../log.ts';
import { isDatabaseError } from '../db/database-errors.ts';
import { sendErrorPage } from './error-page.ts';

/** Unknown paths: a readable 404 page, not logged (scanners ask for many). */
export const notFound: RequestHandler = (req, res) => {
  sendErrorPage(res, Object.assign({}, describeError('not_found'), { details: {} }), req.id);
};

/** Any method but the allowed ones: the 405 page with an Allow header (e.g. "GET, HEAD"). */
export function methodNotAllowed(allowed: string): RequestHandler {
  return (_req, res) => {
    res.set('Allow', allowed);
    throw new AppError('method_not_allowed');
  };
}

/** Answers every failure with the error page (its status, a fix and the request id); logs one line without secrets. */
export function createErrorHandler(config: Config, fallbackLogger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    // The request's own logger puts its id on the line, as on the page.
    const logger: Logger = req.log ?? fallbackLogger;
    const appError = error instanceof AppError ? error : fromExpressError(error);
    const fields = {
      status: appError.status,
      kind: appError.code,
      path: req.path,
      reason: appError.cause === undefined ? undefined : errorSummary(appError.cause),
      error: appError.details.error,
      aadsts: appError.details.aadsts,
      trace_id: appError.details.traceId,
      correlation_id: appError.details.correlationId,
    };
    const level = appError.status >= 500 ? 'error' : 'warn';
    if (res.headersSent) {
      // express-session saves after the response: the browser already has its status, so log that one and finish.
      logger[level](`${appError.title} (after the response was sent)`, Object.assign({}, fields, { status: res.statusCode }));
      if (!res.writableEnded) res.end();
      return;
    }
    logger[level](appError.title, fields);
    const advice = adviceFor(appError.details, config);
    sendErrorPage(
      res,
      {
        status: appError.status,
        // "You did not sign in" says it best when the person pressed Cancel; the advice adds how to consent.
        title: advice !== undefined && appError.code !== 'declined' ? advice.title : appError.title,
        message: appError.message,
        fix: advice?.fix ?? appError.fix,
        details: appError.details,
      },
      req.id,
    );
  };
}

/** Body-parser and other middleware errors carry a 4xx status; a failing database is a 503; anything else is our fault (500). */
function fromExpressError(error: unknown): AppError {
  if (isDatabaseError(error)) return new AppError('storage_unavailable', { cause: error });
  const status = (error as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new AppError('request_unreadable', { status, cause: error });
  return new AppError('unexpected', { cause: error });
}
