import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Config } from '../config.ts';
import { SignInError } from '../errors.ts';

/** Node's header limit, raised from 16 KB so an over-long URL reaches the app and gets its 414 page. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Longer than any real callback (Microsoft's codes are a few KB), short enough to refuse floods cheaply. */
export const MAX_URL_LENGTH = 16 * 1024;
const RATE_LIMIT_WINDOW_MS = 60 * 1000;

/** 414 for an over-long URL, before any session or outbound work. */
export const rejectLongUrls: RequestHandler = (req, _res, next) => {
  if (req.originalUrl.length > MAX_URL_LENGTH) {
    throw new SignInError('bad_request', 'This address is too long', 'The address the browser asked for is longer than any sign-in address, so it was ignored.',
      { status: 414, fix: 'Start the sign-in again from the home page.' });
  }
  next();
};

/** 400 for a request target that is not a path (`OPTIONS *`, `GET *`): express-session gives such requests no session. */
export const rejectNonPathTargets: RequestHandler = (req, _res, next) => {
  if (!req.path.startsWith('/')) {
    throw new SignInError('bad_request', 'The request could not be read', 'The browser asked for something that is not an address on this site.',
      { fix: 'Go to the home page.' });
  }
  next();
};

/** At most `signInRateLimit` requests per minute per client address to /connect and its callback; then a 429 page. */
export function createSignInRateLimit(config: Pick<Config, 'signInRateLimit'>): RequestHandler {
  return rateLimit({
    windowMs: RATE_LIMIT_WINDOW_MS,
    limit: config.signInRateLimit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) => {
      next(new SignInError('bad_request', 'Too many sign-in attempts', 'This address has started too many sign-ins in the last minute.',
        { status: 429, fix: 'Wait a minute, then start the sign-in again.' }));
    },
  });
}
