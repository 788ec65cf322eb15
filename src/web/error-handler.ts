import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { SignInError } from '../errors.ts';
import { errorSummary } from '../log.ts';
import type { Logger } from '../log.ts';
import { isDatabaseError } from '../db/database-retry.ts';
import { adviceFor } from './error-advice.ts';

/** Unknown paths: a readable 404 page. */
export const notFound: RequestHandler = (req, res) => {
  res.status(404).render('error', {
    title: 'Page not found',
    message: 'There is nothing at this address.',
    fix: 'Go to the home page.',
    details: {},
    status: 404,
    occurredAt: new Date().toISOString(),
    requestId: req.id,
  });
};

/** Renders every failure as views/error.ejs with its status, a fix and the request id; logs one line without secrets. */
export function createErrorHandler(config: Config, fallbackLogger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    // The request's own logger puts its id on the line, as on the page.
    const logger: Logger = req.log ?? fallbackLogger;
    const signInError = error instanceof SignInError ? error : fromExpressError(error);
    const fields = {
      status: signInError.status,
      kind: signInError.code,
      path: req.path,
      reason: signInError.cause === undefined ? undefined : errorSummary(signInError.cause),
      error: signInError.details.error,
      aadsts: signInError.details.aadsts,
      trace_id: signInError.details.traceId,
      correlation_id: signInError.details.correlationId,
    };
    const level = signInError.status >= 500 ? 'error' : 'warn';
    if (res.headersSent) {
      // express-session saves after the response: the browser already has its status, so log that one and finish.
      logger[level](`${signInError.title} (after the response was sent)`, { ...fields, status: res.statusCode });
      if (!res.writableEnded) res.end();
      return;
    }
    logger[level](signInError.title, fields);
    const advice = adviceFor(signInError.details, config);
    res.set('Cache-Control', 'no-store');
    res.status(signInError.status).render('error', {
      // "You did not sign in" says it best when the person pressed Cancel; the advice adds how to consent.
      title: advice !== undefined && signInError.code !== 'declined' ? advice.title : signInError.title,
      message: signInError.message,
      fix: advice?.fix ?? signInError.fix,
      details: signInError.details,
      status: signInError.status,
      occurredAt: new Date().toISOString(),
      requestId: req.id,
    });
  };
}

/** Body-parser and other middleware errors carry a 4xx status; a failing database is a 503; anything else is our fault (500). */
function fromExpressError(error: unknown): SignInError {
  if (isDatabaseError(error)) {
    return new SignInError('storage_unavailable', 'The app cannot reach its database', 'The app could not read or write its database just now, so nothing was changed.',
      { fix: 'Try again in a minute. If it keeps happening, the operator should check the database (DATABASE_URL).', cause: error });
  }
  const status = (error as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new SignInError('bad_request', 'The request could not be read', 'The app could not understand what the browser sent.',
      { status, cause: error });
  }
  return new SignInError('unexpected', 'Something went wrong',
    'The app ran into a problem it did not expect. Nothing you did caused it.',
    { fix: 'Try again. If it keeps happening, the operator can find the error in the server log.', status: 500, cause: error });
}
