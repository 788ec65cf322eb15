import type { RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { saveSession } from '../sessions/session-lifecycle.ts';
import type { Discovery } from '../auth/discovery.ts';
import { buildAuthorizationUrl } from '../auth/oauth-client.ts';
import { addPendingSignIn, createPendingSignIn } from '../auth/pending-sign-ins.ts';
import { redirectTo } from './redirect.ts';

/** GET /connect: a fresh state, nonce and PKCE verifier kept in this browser's session, then off to Microsoft. */
export function createConnectRoute(config: Config, discovery: Discovery, now: () => number = Date.now): RequestHandler {
  return async (req, res) => {
    const metadata = await discovery.getMetadata();
    const startedAt = now();
    const signIn = createPendingSignIn(startedAt);
    req.session.pendingSignIns = addPendingSignIn(req.session.pendingSignIns, signIn);
    req.session.startedAt ??= startedAt;
    // The session must be stored before the browser leaves, or the callback finds nothing.
    await saveSession(req);
    res.set('Cache-Control', 'no-store');
    redirectTo(res, 302, buildAuthorizationUrl(config, metadata, signIn));
  };
}
