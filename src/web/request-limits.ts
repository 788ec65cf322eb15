import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Store } from 'express-rate-limit';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { errorSummary } from '../log.ts';
import type { Logger } from '../log.ts';

/** What one client may cost the HTTP server: bytes of request line and headers, connections, seconds. */
export interface HttpLimits {
  /** Request line and headers together; more gets a small 414/431 page from the server itself. */
  readonly maxHeaderBytes: number;
  /** Connections open at once; further ones are closed as they arrive. */
  readonly maxConnections: number;
  /**
   * Connections open at once from one client address (a browser opens about 6 per host); further ones from it are
   * closed as they arrive. Not applied to a peer the app trusts as its proxy (TRUST_PROXY): it carries every client.
   */
  readonly maxConnectionsPerAddress: number;
  /** Time for a client to send its request line and headers. */
  readonly headersTimeoutMs: number;
  /** Time for a client to send its whole request (forms here are under 4 KB). */
  readonly requestTimeoutMs: number;
}

/** Chosen and measured in docs/SECURITY.md (S53): at most about 32 KB of headers per connection, 1,000 connections, 100 per address. */
export const HTTP_LIMITS: HttpLimits = {
  maxHeaderBytes: 32 * 1024,
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};
/** Longer than any real callback (Microsoft's codes are a few KB), short enough to refuse floods cheaply. */
export const MAX_URL_LENGTH = 16 * 1024;
const RATE_LIMIT_WINDOW_MS = 60 * 1000;

/** 414 for an over-long URL, before any session or outbound work. */
export const rejectLongUrls: RequestHandler = (req, _res, next) => {
  if (req.originalUrl.length > MAX_URL_LENGTH) {
    throw new AppError('url_too_long');
  }
  next();
};

/** 400 for a request target that is not a path (`OPTIONS *`, `GET *`): express-session gives such requests no session. */
export const rejectNonPathTargets: RequestHandler = (req, _res, next) => {
  if (!req.path.startsWith('/')) {
    throw new AppError('not_a_path');
  }
  next();
};

/**
 * At most `signInRateLimit` requests per minute per client address to /connect and its callback; then a 429 page.
 * The hits are counted in `store` (the database, so all instances share one count) or, without one, in this process's
 * memory; a store that fails gives the 503 page.
 */
export function createSignInRateLimit(config: Pick<Config, 'signInRateLimit'>, logger: Logger, store?: Store): RequestHandler {
  return rateLimit({
    windowMs: RATE_LIMIT_WINDOW_MS,
    limit: config.signInRateLimit,
    store,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // Any client can send X-Forwarded-For or Forwarded; without TRUST_PROXY they are ignored on purpose, not a misconfiguration.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
    logger: {
      warn: (problem: unknown) => logger.warn('rate limiter check', { reason: errorSummary(problem) }),
      error: (problem: unknown) => logger.error('rate limiter check failed', { reason: errorSummary(problem) }),
    },
    handler: (_req, _res, next) => {
      next(new AppError('too_many_sign_ins'));
    },
  });
}
