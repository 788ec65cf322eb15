import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.ts';
import { servesHttps } from '../config.ts';
import type { Discovery } from '../auth/discovery.ts';
import { destroySession } from '../sessions/session-lifecycle.ts';
import type { TokenStore } from '../tokens/token-store.ts';
import { viewToken } from '../tokens/jwt-view.ts';
import { requireSignedInForm } from './csrf.ts';
import { setCookieNotice } from './notices.ts';
import { redirectTo } from './redirect.ts';

/** Deletes the session row and the cookie: the old cookie is worthless afterwards. */
async function endSession(req: Request, res: Response, cookieName: string, secure: boolean): Promise<void> {
  await destroySession(req);
  // A __Host- cookie is only replaced by one with the same Secure and Path attributes.
  res.clearCookie(cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure });
  res.set('Cache-Control', 'no-store');
}

/**
 * POST /logout ("Sign out"): ends the session in the database. With `microsoft=1` ("Sign out of Microsoft too")
 * it continues to the end_session_endpoint with post_logout_redirect_uri, logout_hint and id_token_hint.
 */
export function createLogoutRoute(config: Config, discovery: Discovery, tokenStore: TokenStore, cookieName: string): RequestHandler {
  const secure = servesHttps(config);
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    const body = req.body as Record<string, unknown>;
    if (body.microsoft !== '1') {
      await endSession(req, res, cookieName, secure);
      setCookieNotice(res, 'signed-out', secure);
      redirectTo(res, 303, '/');
      return;
    }
    // Signed out here first: Microsoft's part is best effort and must not keep the session alive.
    await endSession(req, res, cookieName, secure);
    const endSessionEndpoint = await discovery.getMetadata().then(
      (metadata) => metadata.endSessionEndpoint,
      () => undefined,
    );
    const signIn = await tokenStore.loadSignIn(userId).catch(() => undefined);
    if (endSessionEndpoint === undefined) {
      setCookieNotice(res, 'signed-out', secure);
      redirectTo(res, 303, '/');
      return;
    }
    setCookieNotice(res, 'signed-out-microsoft', secure);
    const url = new URL(endSessionEndpoint);
    url.searchParams.set('post_logout_redirect_uri', `${config.baseUrl}/`);
    // Microsoft wants the login_hint optional claim as logout_hint; the ID token itself stays out of URLs (S34).
    const loginHint = signIn?.tokens === undefined ? undefined : loginHintOf(signIn.tokens.idToken);
    if (loginHint !== undefined) url.searchParams.set('logout_hint', loginHint);
    redirectTo(res, 303, url.href);
  };
}

/** The `login_hint` claim of an ID token the app verified when it stored it. */
function loginHintOf(idToken: string): string | undefined {
  const view = viewToken(idToken);
  return view.kind === 'jwt' ? view.claims.find((claim) => claim.name === 'login_hint')?.value : undefined;
}

/** POST /forget ("Forget my token"): deletes the user and their stored tokens, and signs out. */
export function createForgetRoute(config: Config, tokenStore: TokenStore, cookieName: string): RequestHandler {
  const secure = servesHttps(config);
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    if (!(await tokenStore.forgetUser(userId))) {
      // The rows are gone; their old bytes leave the -wal file once the other reader ends (the checkpoint retries alone).
      req.log?.warn('forgotten token: its old bytes stay in the database files until another connection ends its read', { userId });
    }
    await endSession(req, res, cookieName, secure);
    setCookieNotice(res, 'forgotten', secure);
    redirectTo(res, 303, '/');
  };
}
