import type { RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { fetchGraphMe } from '../graph/graph-client.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { isRefreshError } from '../tokens/token-service.ts';
import { requireSignedInForm } from './csrf.ts';
import { refreshFailedNotice, saveSessionNotice } from './notices.ts';
import type { Notice } from '../sessions/session-data.ts';
import { redirectTo } from './redirect.ts';

/** POST /graph-check ("Check with Microsoft Graph"): GET /v1.0/me with the stored token, refreshed first if needed. */
export function createGraphCheckRoute(config: Config, tokenService: TokenService): RequestHandler {
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    let notice: Notice;
    try {
      const fresh = await tokenService.getFreshTokens(userId, { logger: req.log });
      let result = await fetchGraphMe(config.graphBaseUrl, fresh.tokens.accessToken, config.httpTimeoutMs);
      // A 401 for a token that looks valid: it may have been revoked or rolled; one refresh, one retry.
      if (!result.ok && result.status === 401 && !fresh.refreshed) {
        const retried = await tokenService.getFreshTokens(userId, { force: true, logger: req.log });
        result = await fetchGraphMe(config.graphBaseUrl, retried.tokens.accessToken, config.httpTimeoutMs);
      }
      // After a refused refresh the access token still works until it expires; then only a sign-in helps.
      const signInNeededAfter = fresh.tokens.needsSignIn ? fresh.tokens.expiresAt.toISOString() : undefined;
      notice = result.ok
        ? {
            kind: 'graph-ok',
            displayName: result.displayName,
            mail: result.mail,
            userPrincipalName: result.userPrincipalName,
            signInNeededAfter,
          }
        : { kind: 'graph-failed', status: result.status, code: result.code, message: result.message, requestId: result.requestId };
    } catch (error) {
      if (!isRefreshError(error)) throw error;
      notice = refreshFailedNotice(error);
    }
    await saveSessionNotice(req, notice);
    redirectTo(res, 303, '/');
  };
}
