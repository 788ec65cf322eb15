import type { Application, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { regenerateSession } from '../sessions/session-lifecycle.ts';
import type { ResourceTokenStore } from '../tokens/resource-token-store.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { isRefreshError, refreshProblemOf } from '../tokens/token-service.ts';
import type { RefreshError } from '../tokens/token-service.ts';
import type { StoredSignIn, TokenStore } from '../tokens/token-store.ts';
import { csrfTokenFor } from './csrf.ts';
import { takeNotice } from './notices.ts';
import { createSignedInPage, signedInPageFacts } from './signed-in-page.ts';

const SIGNED_OUT_LOCALS = { title: 'Sign in with Office 365', notice: undefined, signIn: undefined };

/**
 * The signed-out page without a notice: the same bytes for every visitor (it depends on the app's settings alone), so
 * rendered at its first request and sent as it is after that. A failed render is not kept.
 */
function signedOutPageOnce(): (app: Application) => Promise<Buffer> {
  let page: Promise<Buffer> | undefined;
  return (app) => {
    // Kept encoded: each response sends the bytes as they are, without encoding the text again.
    page ??= new Promise<Buffer>((resolve, reject) =>
      app.render('home', SIGNED_OUT_LOCALS, (error, html) => (error ? reject(error) : resolve(Buffer.from(html, 'utf8')))),
    ).catch((error: unknown) => {
      page = undefined;
      throw error;
    });
    return page;
  };
}

/**
 * GET /: the sign-in button, or who is signed in and the access token read back from the database,
 * refreshed first when it has expired or expires within five minutes.
 */
export function createHomeRoute(
  config: Config,
  stores: { tokenStore: TokenStore; tokenService: TokenService; resourceTokenStore: ResourceTokenStore },
  now: () => number = Date.now,
): RequestHandler {
  const { tokenStore, tokenService, resourceTokenStore } = stores;
  const signedOutPage = signedOutPageOnce();
  let signedInPage: ReturnType<typeof createSignedInPage> | undefined;
  return async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const notice = takeNotice(req, res);
    const userId = req.session?.userId;
    // Read with the session row in one query (signed-in-read.ts), unless the session has changed hands since (regenerated).
    const preloaded = userId !== undefined && req.signIn?.userId === userId ? req.signIn : undefined;
    let signIn: StoredSignIn | undefined;
    let refreshProblem: RefreshError | undefined;
    if (userId !== undefined) {
      try {
        signIn = await tokenService.getFreshTokens(userId, { preloaded, logger: req.log });
      } catch (error) {
        if (!isRefreshError(error)) throw error;
        // No usable tokens, or they cannot be refreshed now: show what the database holds and say why.
        refreshProblem = error;
        signIn =
          preloaded !== undefined && refreshProblemOf(refreshProblem) === 'no_tokens'
            ? preloaded.signIn
            : await tokenStore.loadSignIn(userId);
      }
    }
    if (userId === undefined || signIn === undefined) {
      // The user row is gone (forgotten, database reset): the session means nothing any more.
      if (userId !== undefined) await regenerateSession(req);
      if (notice === undefined) res.type('html').send(await signedOutPage(req.app));
      else res.render('home', Object.assign({}, SIGNED_OUT_LOCALS, { notice }));
      return;
    }

    const tokens = signIn.tokens;
    const problem = refreshProblem === undefined ? undefined : refreshProblemOf(refreshProblem);
    // A refresh of the default token leaves the tokens for other resources as they were read with the session.
    const resourceTokens = preloaded?.resourceTokens ?? (await resourceTokenStore.listResourceTokens(signIn.user));
    const facts = signedInPageFacts({
      signIn,
      needsSignIn: tokens === undefined || tokens.needsSignIn || problem === 'needs_sign_in',
      refreshProblem: problem === 'unavailable' ? refreshProblem?.message : undefined,
      resourceTokens,
      csrfToken: csrfTokenFor(req),
      now: now(),
    });
    // The app's locals (the footer's) are set before it serves its first request.
    signedInPage ??= createSignedInPage(config, req.app.locals);
    res.type('html').send(signedInPage(facts, notice));
  };
}
