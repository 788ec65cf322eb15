import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { AppError, invalidCallback, providerDetails } from '../errors.ts';
import type { Logger } from '../log.ts';
import { discardSession, saveSession, takeOverSession, writeSessionWithin } from '../sessions/session-lifecycle.ts';
import type { PendingSignIn } from '../auth/pending-sign-ins.ts';
import { readCookie } from '../sessions/cookies.ts';
import { sessionCookieName } from '../sessions/session-middleware.ts';
import { exchangeCode, scopesOf } from '../auth/oauth-client.ts';
import type { TokenResponse } from '../auth/oauth-client.ts';
import type { IdTokenVerifier, VerifiedIdentity } from '../auth/id-token.ts';
import type { Discovery } from '../auth/discovery.ts';
import { randomToken } from '../random-token.ts';
import type { IncrementalSignIn } from '../auth/pending-sign-ins.ts';
import { PENDING_SIGN_IN_MS, takePendingSignIn } from '../auth/pending-sign-ins.ts';
import { parseResourceScopes } from '../auth/resource-scopes.ts';
import type { SqlDatabase } from '../db/sql.ts';
import type { ResourceTokenStore } from '../tokens/resource-token-store.ts';
import type { TokenStore } from '../tokens/token-store.ts';
import { defaultScopesOf } from '../tokens/resource-token-service.ts';
import { createAdminConsentAnswer, isAdminConsentAnswer } from './admin-consent-answer.ts';
import { redirectTo } from './redirect.ts';

/** What the callback needs to finish a sign-in: settings, discovery, ID-token checks, both stores, the database, a logger and the clock. */
export interface SignInServices {
  config: Config;
  discovery: Discovery;
  verifier: IdTokenVerifier;
  /** Where a sign-in stores the user and their token set. */
  tokenStore: TokenStore;
  /** Where a sign-in for another resource stores its token. */
  resourceTokenStore: ResourceTokenStore;
  /** For the admin-consent links `npm run token` printed. */
  database: SqlDatabase;
  logger: Logger;
  /** The clock for expiry and stored times (the app's injected one; Date.now by default). */
  now?: () => number;
}

/**
 * GET /connect/get_token, the redirect URI. Guard clauses first (state, Microsoft's error, code),
 * then the code exchange, the ID-token checks, the database, and a new session id.
 */
export function createCallbackRoute({
  config,
  discovery,
  verifier,
  tokenStore,
  resourceTokenStore,
  database,
  logger,
  now = Date.now,
}: SignInServices): RequestHandler {
  const answerAdminConsent = createAdminConsentAnswer(database, now);
  const defaultScopes = defaultScopesOf(config.scopes);

  /**
   * A sign-in for another resource, by the person signed in here: its tokens are stored for that user only (one
   * account's tokens are never stored for another), the refresh token as the user's newest, the access token under its
   * resource and scopes. The session keeps its user and CSRF token.
   */
  const finishResourceSignIn = async (
    req: Request,
    incremental: IncrementalSignIn,
    identity: VerifiedIdentity,
    tokens: TokenResponse,
  ): Promise<{ userId: string; tenantId: string }> => {
    const stored = req.session.userId === incremental.userId ? await tokenStore.loadSignIn(incremental.userId) : undefined;
    if (stored === undefined) throw invalidCallback('the sign-in for another resource belongs to a user no longer signed in here');
    const { user } = stored;
    if (identity.tenantId !== user.tenantId || identity.objectId !== user.objectId) {
      throw new AppError('resource_sign_in_other_account', {
        values: { account: identity.username || identity.objectId, user: user.username || user.objectId },
        cause: new Error('the sign-in for another resource came back with another account'),
      });
    }
    const request = parseResourceScopes(incremental.scopes);
    if (!request.ok) throw invalidCallback('the pending sign-in holds no one-resource scope list');
    try {
      // The default scopes are the token set's own: such a sign-in is a sign-in.
      if (request.value.key === defaultScopes?.key) await tokenStore.saveSignIn(identity, tokens, new Date(now()));
      else if ((await resourceTokenStore.saveResourceSignIn(user, request.value, tokens, new Date(now()))) === undefined)
        throw invalidCallback('the user has no token set any more');
    } catch (cause) {
      if (cause instanceof AppError) throw cause;
      throw new AppError('sign_in_not_saved', { cause });
    }
    req.session.notice = { kind: 'resource-token', resource: request.value.resource, refreshed: true };
    if (req.session.pendingSignIns?.length === 0) req.session.pendingSignIns = undefined;
    await saveSession(req);
    return { userId: user.id, tenantId: user.tenantId };
  };

  /** After the state is consumed: Microsoft's answer, the code exchange, the ID token, the database, the signed-in session. */
  const finishSignIn = async (
    req: Request,
    query: URLSearchParams,
    signIn: PendingSignIn,
  ): Promise<{ userId: string; tenantId: string }> => {
    if (now() - signIn.createdAt > PENDING_SIGN_IN_MS) throw invalidCallback('pending sign-in expired');

    const error = singleParameter(query, 'error');
    if (error !== undefined || query.has('error')) throw authorizationError(query, error);

    const code = singleParameter(query, 'code');
    if (code === undefined) throw invalidCallback('no single code parameter');

    const metadata = await discovery.getMetadata();
    const tokens = await exchangeCode(config, metadata, { code, codeVerifier: signIn.codeVerifier, scopes: scopesOf(config, signIn) });
    const identity = await verifier.verify(tokens.idToken, { metadata, expectedNonce: signIn.nonce });
    if (signIn.incremental !== undefined) return finishResourceSignIn(req, signIn.incremental, identity, tokens);

    // The user, their tokens and the signed-in session in one transaction: a failure leaves none of them behind.
    let sessionWritten: (() => void) | undefined;
    let userId: string;
    try {
      userId = await tokenStore.saveSignIn(identity, tokens, new Date(now()), async (transaction, savedUserId) => {
        // The session id already changed when the state was consumed: a cookie planted before it is worthless now.
        req.session.userId = savedUserId;
        req.session.startedAt = now();
        req.session.seenAt = now();
        req.session.csrfToken = randomToken();
        if (req.session.pendingSignIns?.length === 0) req.session.pendingSignIns = undefined;
        sessionWritten = await writeSessionWithin(req, transaction);
      });
    } catch (cause) {
      throw new AppError('sign_in_not_saved', { cause });
    }
    sessionWritten?.();
    return { userId, tenantId: identity.tenantId };
  };

  return async (req, res) => {
    const query = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1 || req.url.length));
    const state = singleParameter(query, 'state');
    if (state === undefined) throw invalidCallback('no single state parameter');
    // The admin-consent page answers on the same registered redirect URI: no code, nobody signed in.
    if (isAdminConsentAnswer(req, query, state)) {
      await answerAdminConsent(req, res, query, state);
      return;
    }

    if (readCookie(req.headers.cookie, sessionCookieName(config)) === undefined) throw sessionCookieLost(config, req.headers.host);
    const { signIn, remaining } = takePendingSignIn(req.session.pendingSignIns, state);
    if (signIn === undefined) throw invalidCallback('state matches no pending sign-in of this browser');
    // Consumed before anything else happens, so the same callback can never be used twice: the session row is ended
    // atomically in the database (one winner across instances) and the browser carries on under a new session id.
    req.session.pendingSignIns = remaining;
    if (!(await takeOverSession(req))) throw invalidCallback('state already taken by a concurrent callback');
    const before = { userId: req.session.userId, startedAt: req.session.startedAt, csrfToken: req.session.csrfToken };
    let userId: string;
    let tenantId: string;
    try {
      ({ userId, tenantId } = await finishSignIn(req, query, signIn));
    } catch (error) {
      // Nothing of this sign-in survives: the new session keeps only what the browser had before, if anything.
      if (before.userId === undefined && remaining.length === 0) discardSession(req);
      else Object.assign(req.session, before);
      throw error;
    }
    // Through the request's logger, so the line carries its request id.
    const log: Logger = req.log ?? logger;
    log.info('signed in', { userId, tenantId });
    res.set('Cache-Control', 'no-store');
    redirectTo(res, 303, '/');
  };
}

/** The browser came back without the cookie /connect set: name the usual causes and the host it must use. */
function sessionCookieLost(config: Config, requestHost: string | undefined): AppError {
  const elsewhere = requestHost !== undefined && requestHost !== new URL(config.baseUrl).host ? requestHost : undefined;
  return new AppError('session_cookie_lost', {
    values: { baseUrl: config.baseUrl, requestHost: elsewhere },
    cause: new Error('no session cookie on the callback'),
  });
}

/** The value of a parameter that appears exactly once; repeated or absent gives undefined. */
function singleParameter(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/** Microsoft sent the browser back with ?error=…: declined, or a problem with the request. */
function authorizationError(query: URLSearchParams, error: string | undefined): AppError {
  const details = providerDetails({ error, error_description: singleParameter(query, 'error_description') });
  return new AppError(error === 'access_denied' ? 'declined' : 'authorization_failed', { details });
}
