import type { Config } from '../config.ts';
import type { Discovery } from '../auth/discovery.ts';
import type { IdTokenVerifier } from '../auth/id-token.ts';
import { redeemRefreshToken } from '../auth/oauth-client.ts';
import { SignInError } from '../errors.ts';
import type { ProviderDetails } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StoredSignIn, StoredTokens, StoredUser, TokenStore } from './token-store.ts';

/** Refresh when the access token expires within this long. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;

export type RefreshProblem = 'no_tokens' | 'needs_sign_in' | 'unavailable';

/** The stored token cannot be made fresh: nothing stored, a new sign-in needed, or Microsoft unreachable now. */
export class TokenRefreshError extends Error {
  override name = 'TokenRefreshError';
  readonly code: RefreshProblem;
  readonly details: ProviderDetails;

  constructor(code: RefreshProblem, message: string, options: { details?: ProviderDetails; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export interface FreshSignIn {
  readonly user: StoredUser;
  readonly tokens: StoredTokens;
  /** True when this call redeemed the refresh token. */
  readonly refreshed: boolean;
}

export interface TokenService {
  /**
   * The user's tokens with an access token valid for at least REFRESH_MARGIN_MS, refreshing first
   * when needed (or always, with `force`). Concurrent calls for one user share one refresh.
   */
  getFreshTokens(userId: string, options?: { force?: boolean }): Promise<FreshSignIn>;
}

/** True when the access token has expired or expires within the margin. */
export function needsRefresh(tokens: Pick<StoredTokens, 'expiresAt'>, now: number): boolean {
  return tokens.expiresAt.getTime() - now <= REFRESH_MARGIN_MS;
}

export function createTokenService(dependencies: { config: Config; discovery: Discovery; verifier: IdTokenVerifier; tokenStore: TokenStore; logger: Logger }): TokenService {
  const { config, discovery, verifier, tokenStore, logger } = dependencies;
  const refreshing = new Map<string, Promise<FreshSignIn>>();

  const refresh = async (signIn: StoredSignIn & { tokens: StoredTokens }): Promise<FreshSignIn> => {
    const { user, tokens } = signIn;
    if (tokens.refreshToken === undefined) {
      throw new TokenRefreshError('needs_sign_in', 'The access token has expired and there is no refresh token (the offline_access scope was not granted).');
    }
    const metadata = await discovery.getMetadata().catch((cause: unknown) => {
      throw new TokenRefreshError('unavailable', 'Microsoft sign-in is unavailable, so the token could not be refreshed.', { cause });
    });
    let response;
    try {
      response = await redeemRefreshToken(config, metadata, tokens.refreshToken);
    } catch (error) {
      const details = error instanceof SignInError ? error.details : {};
      // invalid_grant: revoked, expired or already used (AADSTS70008, 700082, 50173); consent or MFA needed: interaction_required.
      if (error instanceof SignInError && (error.code === 'code_rejected' || details.error === 'interaction_required')) {
        await tokenStore.markNeedsSignIn(user.id);
        logger.warn('refresh refused; sign-in needed', { userId: user.id, error: details.error, aadsts: details.aadsts, correlation_id: details.correlationId });
        throw new TokenRefreshError('needs_sign_in', 'Microsoft no longer accepts the stored refresh token: sign in again.', { details, cause: error });
      }
      logger.warn('refresh failed', { userId: user.id, error: details.error, aadsts: details.aadsts, correlation_id: details.correlationId });
      throw new TokenRefreshError('unavailable', 'Microsoft could not refresh the token just now. Try again in a minute.', { details, cause: error });
    }
    if (response.idToken !== undefined) {
      const identity = await verifier.verify(response.idToken, { metadata, expectedNonce: undefined }).catch((cause: unknown) => {
        throw new TokenRefreshError('unavailable', 'The refreshed identity token did not pass the app\'s checks, so it was not stored.', { cause });
      });
      if (identity.tenantId !== user.tenantId || identity.objectId !== user.objectId) {
        throw new TokenRefreshError('unavailable', 'The refreshed identity token belongs to another user, so it was not stored.');
      }
    }
    const saved = await tokenStore.saveRefreshedTokens(user, tokens, response, new Date());
    logger.info('token refreshed', { userId: user.id });
    return { user, tokens: saved, refreshed: true };
  };

  return {
    async getFreshTokens(userId, options = {}) {
      const inFlight = refreshing.get(userId);
      if (inFlight !== undefined) return inFlight;
      const signIn = await tokenStore.loadSignIn(userId);
      if (signIn?.tokens === undefined) throw new TokenRefreshError('no_tokens', 'No token is stored for this user: sign in first.');
      const { user, tokens } = signIn;
      if (tokens.needsSignIn) throw new TokenRefreshError('needs_sign_in', 'The stored token can no longer be refreshed: sign in again.');
      if (!options.force && !needsRefresh(tokens, Date.now())) return { user, tokens, refreshed: false };
      // Another caller may have started while this one read the database.
      const raced = refreshing.get(userId);
      if (raced !== undefined) return raced;
      const promise = refresh({ user, tokens }).finally(() => refreshing.delete(userId));
      refreshing.set(userId, promise);
      return promise;
    },
  };
}
