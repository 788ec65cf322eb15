import type { RequestHandler } from 'express';
import type { TokenService } from '../tokens/token-service.ts';
import { isRefreshError } from '../tokens/token-service.ts';
import { requireSignedInForm } from './csrf.ts';
import { refreshFailedNotice, saveSessionNotice } from './notices.ts';
import type { Notice } from '../sessions/session-data.ts';
import { redirectTo } from './redirect.ts';

/** POST /refresh ("Refresh now"): redeems the refresh token on demand, then back to the page. */
export function createRefreshRoute(tokenService: TokenService): RequestHandler {
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    let notice: Notice;
    try {
      const { tokens } = await tokenService.getFreshTokens(userId, { force: true, logger: req.log });
      notice = { kind: 'refreshed', expiresAt: tokens.expiresAt.toISOString() };
    } catch (error) {
      if (!isRefreshError(error)) throw error;
      notice = refreshFailedNotice(error);
    }
    await saveSessionNotice(req, notice);
    redirectTo(res, 303, '/');
  };
}
