import type { RequestHandler } from 'express';
import { SignInError } from '../errors.ts';
import { destroySession } from '../sessions/session-helpers.ts';
import { hasValidCsrfToken } from './csrf.ts';

/** POST /logout: ends the session in the database and clears the cookie; needs the form's CSRF token. */
export function createLogoutRoute(cookieName: string): RequestHandler {
  return async (req, res) => {
    if (!hasValidCsrfToken(req)) {
      throw new SignInError('bad_request', 'This form has expired',
        'The sign-out form did not come from this page in this browser, so nothing was changed.',
        { fix: 'Go back to the home page and use the Sign out button there.', status: 403 });
    }
    await destroySession(req);
    res.clearCookie(cookieName, { path: '/' });
    res.set('Cache-Control', 'no-store');
    res.redirect(303, '/?signed-out');
  };
}
