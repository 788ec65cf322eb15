import type { RequestHandler } from 'express';
import type { TokenStore } from '../tokens/token-store.ts';
import { regenerateSession } from '../sessions/session-helpers.ts';
import { csrfTokenFor } from './csrf.ts';

/** GET /: the sign-in button, or who is signed in and the access token read back from the database. */
export function createHomeRoute(tokenStore: TokenStore): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const userId = req.session.userId;
    const signIn = userId === undefined ? undefined : await tokenStore.loadSignIn(userId);
    if (signIn === undefined) {
      // The user row is gone (forgotten, database reset): the session means nothing any more.
      if (userId !== undefined) await regenerateSession(req);
      res.render('home', { title: 'Sign in with Office 365', signedOut: req.query['signed-out'] !== undefined, signIn: undefined });
      return;
    }
    res.render('home', {
      title: `Signed in as ${signIn.user.displayName}`,
      signedOut: false,
      signIn,
      expired: signIn.tokens !== undefined && signIn.tokens.expiresAt.getTime() <= Date.now(),
      csrfToken: csrfTokenFor(req),
    });
  };
}
