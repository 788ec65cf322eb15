import type { Request } from 'express';
import { randomToken } from '../random-token.ts';
import { AppError } from '../errors.ts';
import { equalInConstantTime } from '../constant-time.ts';

/** The session's CSRF token for its forms, created on first use. */
export function csrfTokenFor(req: Request): string {
  req.session.csrfToken ??= randomToken();
  return req.session.csrfToken;
}

/** True when the form's `_csrf` field equals the session's token (constant-time). */
export function hasValidCsrfToken(req: Request): boolean {
  const expected = req.session.csrfToken;
  const sent: unknown = (req.body as Record<string, unknown> | undefined)?._csrf;
  if (expected === undefined || typeof sent !== 'string') return false;
  return equalInConstantTime(sent, expected);
}

/**
 * The guard of every state-changing form: a valid CSRF token from this session and a signed-in user.
 * Returns the user id; throws a 403 page otherwise, having changed nothing.
 */
export function requireSignedInForm(req: Request): string {
  const userId = req.session.userId;
  if (!hasValidCsrfToken(req) || userId === undefined) {
    throw new AppError('form_expired');
  }
  return userId;
}
