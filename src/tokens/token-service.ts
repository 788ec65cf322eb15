import type { Config } from '../config.ts';
import type { Discovery, ProviderMetadata } from '../auth/discovery.ts';
import type { IdTokenVerifier } from '../auth/id-token.ts';
import { redeemRefreshToken } from '../auth/oauth-client.ts';
import type { RefreshResponse } from '../auth/oauth-client.ts';
import { AppError, isAppError } from '../errors.ts';
import type { AppErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SealedRefreshToken, StoredSignIn, StoredTokens, StoredUser, TokenStore } from './token-store.ts';
import { createUserRedemptions } from './user-redemptions.ts';
import type { UserRedemptions } from './user-redemptions.ts';

/** Refresh when the access token expires within this long. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** How often a caller waiting for another process's refresh looks at the database again. */
export const WAIT_POLL_MS = 200;

/** Why the stored token cannot be made fresh: nothing stored, a new sign-in needed, or Microsoft unreachable now. */
export type RefreshProblem = 'no_tokens' | 'needs_sign_in' | 'unavailable';

const REFRESH_PROBLEMS = {
  no_stored_token: 'no_tokens',
  no_refresh_token: 'needs_sign_in',
  refresh_token_refused: 'needs_sign_in',
  refresh_refused_before: 'needs_sign_in',
  refresh_for_another_user: 'needs_sign_in',
  refresh_unavailable: 'unavailable',
  refresh_client_refused: 'unavailable',
  federated_token_unusable: 'unavailable',
  refresh_provider_unavailable: 'unavailable',
  refresh_taking_too_long: 'unavailable',
} as const satisfies Partial<Record<AppErrorCode, RefreshProblem>>;

/** An AppError that getFreshTokens throws on purpose; anything else it throws (a database failure, a bug) is not one. */
export interface RefreshError extends AppError {
  readonly code: keyof typeof REFRESH_PROBLEMS;
}

export function isRefreshError(error: unknown): error is RefreshError {
  return error instanceof AppError && Object.hasOwn(REFRESH_PROBLEMS, error.code);
}

/** What the caller can do about a refresh error: sign in first, sign in again, or try again later. */
export function refreshProblemOf(error: RefreshError): RefreshProblem {
  return REFRESH_PROBLEMS[error.code];
}

export interface FreshSignIn {
  readonly user: StoredUser;
  readonly tokens: StoredTokens;
  /** True when this call redeemed the refresh token. */
  readonly refreshed: boolean;
}

/** A user's sign-in as the caller read it already (with their session, in one query): `signIn` undefined when the user is gone. */
export interface PreloadedSignIn {
  readonly signIn: StoredSignIn | undefined;
}

export interface TokenService {
  /**
   * The user's tokens with an access token valid for at least REFRESH_MARGIN_MS, refreshing first
   * when needed (or always, with `force`). Concurrent calls for one user share one refresh: in this
   * process through a promise, across processes through a lease on the token set's row. Once Microsoft has
   * refused the refresh token, a call without `force` still gets the access token until it expires,
   * with `tokens.needsSignIn` set; after that it throws `needs_sign_in`.
   */
  getFreshTokens(
    userId: string,
    options?: { force?: boolean; preloaded?: PreloadedSignIn | undefined; logger?: Logger },
  ): Promise<FreshSignIn>;
}

/** True when the access token has expired or expires within the margin. */
export function needsRefresh(tokens: Pick<StoredTokens, 'expiresAt'>, now: number): boolean {
  return tokens.expiresAt.getTime() - now <= REFRESH_MARGIN_MS;
}

/** What a refresh needs: settings, discovery, ID-token checks, the token store, a logger and the clock. */
export interface TokenServiceDependencies {
  config: Config;
  discovery: Discovery;
  verifier: IdTokenVerifier;
  tokenStore: TokenStore;
  logger: Logger;
  /** The clock for expiry, the refresh lease and stored times (the app's injected one; Date.now by default). */
  now?: () => number;
  /** This process's redemptions by user, shared with the token service for other resources (one refresh token). */
  redemptions?: UserRedemptions;
}

/** The default token's service: reads, refreshes (one redemption per user across processes) and waits for refreshes. */
export function createTokenService(dependencies: TokenServiceDependencies): TokenService {
  const { config, discovery, verifier, tokenStore, logger, now = Date.now, redemptions = createUserRedemptions() } = dependencies;
  const refreshing = new Map<string, Promise<FreshSignIn>>();
  // Long enough for discovery and the token request, each bounded by the HTTP timeout.
  const leaseMs = 2 * config.httpTimeoutMs + 5000;

  const usableTokens = (signIn: StoredSignIn | undefined): { user: StoredUser; tokens: StoredTokens } => {
    if (signIn?.tokens === undefined) throw new AppError('no_stored_token');
    return { user: signIn.user, tokens: signIn.tokens };
  };
  const loadTokens = async (userId: string) => usableTokens(await tokenStore.loadSignIn(userId));

  /** Redeems the refresh token while holding the lease; every path gives the lease back. */
  const redeem = async (
    user: StoredUser,
    tokens: StoredTokens,
    refreshToken: SealedRefreshToken,
    lease: Date,
    log: Logger,
  ): Promise<FreshSignIn> => {
    let response: RefreshResponse;
    try {
      const metadata = await discovery.getMetadata().catch((cause: unknown) => {
        throw new AppError('refresh_provider_unavailable', { cause });
      });
      response = await redeemRefreshToken(config, metadata, refreshToken.open()).catch((error: unknown) => {
        throw refreshError(error);
      });
      response = await verifyRefreshedIdToken(verifier, user, response, metadata, log);
      if (response.expiresInReplaced)
        log.warn('refresh answer had an absurd expires_in; stored with one hour assumed', { userId: user.id });
    } catch (error) {
      if (isRefreshError(error) && refreshProblemOf(error) === 'needs_sign_in') {
        await tokenStore.markNeedsSignIn(user.id, lease, new Date(now()));
        log.warn('refresh refused; sign-in needed', {
          userId: user.id,
          error: error.details.error,
          aadsts: error.details.aadsts,
          correlation_id: error.details.correlationId,
        });
      } else {
        await tokenStore.releaseRefreshLease(user.id, lease, new Date(now())).catch(() => undefined);
        log.warn('refresh failed', { userId: user.id, reason: (error as Error).message });
      }
      throw error;
    }
    const saved = await tokenStore.saveRefreshedTokens(user, tokens, response, new Date(now()), lease);
    if (saved === undefined) {
      // A new sign-in replaced the token set meanwhile: its tokens are newer than ours.
      return Object.assign({}, await loadTokens(user.id), { refreshed: false });
    }
    if (response.accessToken === undefined) {
      // Its rotated refresh token is stored (it may be the only live one), its access token is not: no fresh token came.
      log.warn('refresh answer had no usable access token; kept its refresh token and the previous access token', { userId: user.id });
      throw new AppError('refresh_unavailable', { cause: new Error('Token response: no usable access_token') });
    }
    log.info('token refreshed', { userId: user.id });
    return { user, tokens: saved, refreshed: true };
  };

  /** Refreshes, or waits for the process that holds the lease and takes its result. */
  const refreshOrWait = async (user: StoredUser, tokens: StoredTokens, log: Logger): Promise<FreshSignIn> => {
    const { refreshToken } = tokens;
    if (refreshToken === undefined) {
      // Nothing to mark: the access token itself stays usable until it expires.
      throw new AppError('no_refresh_token');
    }
    const deadline = now() + leaseMs;
    let seen = tokens;
    for (;;) {
      const lease = await tokenStore.acquireRefreshLease(user.id, new Date(now() + leaseMs), new Date(now()), seen.updatedAt);
      if (lease !== undefined) return redemptions.track(user.id, redeem(user, seen, seen.refreshToken ?? refreshToken, lease, log));
      if (now() > deadline) throw new AppError('refresh_taking_too_long');
      // This process's own redemption for the user (another resource's, perhaps) ends before the database is read again.
      const local = redemptions.settled(user.id);
      if (local !== undefined) await local;
      const current = await loadTokens(user.id);
      if (current.tokens.needsSignIn) throw refusedBefore();
      // Another process refreshed since this one read the tokens: use its result.
      if (current.tokens.accessToken !== tokens.accessToken) return Object.assign({}, current, { refreshed: false });
      // Same tokens (a lease was taken, or given back without a refresh): wait, then try with what is stored now.
      if (local === undefined && current.tokens.updatedAt.getTime() === seen.updatedAt.getTime())
        await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      seen = current.tokens;
    }
  };

  /** Without `force`, an access token that has not expired yet is still worth using when it cannot be refreshed. */
  const orStillValid =
    (options: { force?: boolean }, user: StoredUser, tokens: StoredTokens) =>
    (error: unknown): FreshSignIn => {
      if (options.force || !isRefreshError(error) || refreshProblemOf(error) !== 'needs_sign_in' || tokens.expiresAt.getTime() <= now())
        throw error;
      return { user, tokens: Object.assign({}, tokens, { needsSignIn: true }), refreshed: false };
    };

  return {
    async getFreshTokens(userId, options = {}) {
      const inFlight = refreshing.get(userId);
      if (inFlight !== undefined) return inFlight;
      const { user, tokens } = options.preloaded !== undefined ? usableTokens(options.preloaded.signIn) : await loadTokens(userId);
      if (tokens.needsSignIn) return orStillValid(options, user, tokens)(refusedBefore());
      if (!options.force && !needsRefresh(tokens, now())) return { user, tokens, refreshed: false };
      // Another caller may have started while this one read the database.
      const raced = refreshing.get(userId);
      if (raced !== undefined) return raced;
      // The lines of a refresh carry the request id of the request that started it.
      const promise = refreshOrWait(user, tokens, options.logger ?? logger).finally(() => refreshing.delete(userId));
      refreshing.set(userId, promise);
      return promise.catch(orStillValid(options, user, tokens));
    },
  };
}

/** A refreshed ID token must still be this user's; if it cannot be checked now, the previous one is kept. */
export async function verifyRefreshedIdToken(
  verifier: IdTokenVerifier,
  user: StoredUser,
  response: RefreshResponse,
  metadata: ProviderMetadata,
  log: Logger,
): Promise<RefreshResponse> {
  if (response.idToken === undefined) return response;
  try {
    const identity = await verifier.verify(response.idToken, { metadata, expectedNonce: undefined });
    if (identity.tenantId !== user.tenantId || identity.objectId !== user.objectId) {
      throw new AppError('refresh_for_another_user');
    }
    return response;
  } catch (error) {
    if (isRefreshError(error)) throw error;
    // The refresh token is already spent: keep the new tokens, drop only the ID token that could not be checked.
    log.warn('refreshed ID token not verified; keeping the previous one', { userId: user.id, reason: (error as Error).message });
    return Object.assign({}, response, { idToken: undefined });
  }
}

function refusedBefore(): AppError {
  return new AppError('refresh_refused_before');
}

/**
 * invalid_grant (revoked, expired or reused: AADSTS70008, 700082, 50173) and interaction_required need a new sign-in.
 * A refused or unreadable client credential is the operator's to fix: say so rather than "try again".
 */
function refreshError(error: unknown): AppError {
  if (isAppError(error, 'federated_token_unusable')) return error;
  const details = error instanceof AppError ? error.details : {};
  if (isAppError(error, 'client_misconfigured')) return new AppError('refresh_client_refused', { details, cause: error });
  const refused = isAppError(error, 'code_rejected') || details.error === 'interaction_required';
  return new AppError(refused ? 'refresh_token_refused' : 'refresh_unavailable', { details, cause: error });
}
