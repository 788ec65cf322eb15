import { PERSONAL_ACCOUNTS_TENANT } from '../auth/admin-consent.ts';
import { redeemRefreshToken, SIGN_IN_SCOPES } from '../auth/oauth-client.ts';
import type { RefreshResponse } from '../auth/oauth-client.ts';
import { parseResourceScopes } from '../auth/resource-scopes.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import { AppError, isAppError } from '../errors.ts';
import type { AppErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ResourceTokenRead, ResourceTokenStore, StoredResourceToken } from './resource-token-store.ts';
import { isRefreshError, needsRefresh, refreshProblemOf, verifyRefreshedIdToken, WAIT_POLL_MS } from './token-service.ts';
import type { FreshSignIn, RefreshProblem, TokenService, TokenServiceDependencies } from './token-service.ts';
import type { StoredGrant, StoredUser } from './token-store.ts';
import type { UserRedemptions } from './user-redemptions.ts';

/** An access token for one resource and scope set: the default entry (O365_SCOPES) or another resource's. */
export interface ResourceToken extends Omit<StoredResourceToken, 'updatedAt'> {
  readonly user: StoredUser;
  /** True when this call redeemed the refresh token; false when it came from the database. */
  readonly refreshed: boolean;
  /** The default entry: the token the sign-in stored, in the token set. */
  readonly isDefault: boolean;
  /** The default entry's refresh was refused: it works until it expires, then only a sign-in helps. */
  readonly needsSignIn: boolean;
}

/** Why no token came for the resource. The first three are the default token's; the rest are this resource's own. */
export type ResourceProblem =
  | RefreshProblem
  /** Microsoft wants consent (AADSTS65001): the sign-in for this API, or an administrator's consent. */
  | 'consent_required'
  /** Microsoft wants an interactive sign-in (MFA, Conditional Access; AADSTS50076/50079), perhaps with a claims challenge. */
  | 'interaction_required'
  /** Microsoft refused these scopes (AADSTS70011, 28000, 500011; personal accounts for work-only APIs). */
  | 'scope_refused'
  /** Microsoft refused the refresh token for this resource (invalid_grant without a consent or interaction suberror). */
  | 'refresh_refused';

const RESOURCE_PROBLEMS = {
  resource_consent_required: 'consent_required',
  resource_interaction_required: 'interaction_required',
  resource_scope_refused: 'scope_refused',
  resource_refresh_refused: 'refresh_refused',
} as const satisfies Partial<Record<AppErrorCode, ResourceProblem>>;

/** An AppError that getResourceToken throws on purpose: a refresh error, or Microsoft's refusal of this resource. */
export type ResourceTokenError = AppError & { readonly code: keyof typeof RESOURCE_PROBLEMS };

export function isResourceTokenError(error: unknown): error is ResourceTokenError {
  return error instanceof AppError && Object.hasOwn(RESOURCE_PROBLEMS, error.code);
}

/** What the caller can do: the default token's problems (sign in, try later), or this resource's own. */
export function resourceProblemOf(error: unknown): ResourceProblem | undefined {
  if (isResourceTokenError(error)) return RESOURCE_PROBLEMS[error.code];
  return isRefreshError(error) ? refreshProblemOf(error) : undefined;
}

export interface ResourceTokenService {
  /**
   * An access token for exactly `request`'s resource and scopes, valid for at least the refresh margin: from the
   * database while it is, else by redeeming the user's one refresh token with these scopes (always, with `force`).
   * The default scopes (O365_SCOPES) are the token set's own token. Concurrent calls for one scope set share one
   * redemption in this process; redemptions of one user run one at a time across processes (the lease on the token set),
   * and a caller that waited takes the other's token when it is for its scope set. A refusal writes nothing.
   */
  getResourceToken(userId: string, request: ResourceScopes, options?: { force?: boolean; logger?: Logger }): Promise<ResourceToken>;
}

export interface ResourceTokenServices extends TokenServiceDependencies {
  resourceTokenStore: ResourceTokenStore;
  /** The default token's service: the default scopes are its. */
  tokenService: TokenService;
  redemptions: UserRedemptions;
}

// MSAL's rule (lib/msal-common InteractionRequiredAuthError): these suberrors need the person at Microsoft.
const INTERACTION_SUBERRORS = new Set(['basic_action', 'additional_action', 'message_only', 'user_password_expired']);
// AADSTS50076/50079: MFA required or to enroll; 50158: external challenge; 53000/53001: device policies (Conditional Access).
const INTERACTION_CODES = new Set(['50076', '50079', '50158', '53000', '53001']);
// AADSTS65001 DelegationDoesNotExist; 90094 AdminConsentRequired.
const CONSENT_CODES = new Set(['65001', '90094']);
// invalid_scope (AADSTS70011), invalid_resource (500011), invalid_request (AADSTS28000 and other malformed scopes).
const SCOPE_ERRORS = new Set(['invalid_scope', 'invalid_resource', 'invalid_request']);

/**
 * Microsoft's answer to a redemption for another resource, as this resource's outcome (learn.microsoft.com:
 * identity-platform/v2-oauth2-auth-code-flow#error-codes-for-token-endpoint-errors, reference-error-codes). None of
 * them says the refresh token is dead for every resource, so none marks the user as needing a sign-in; errors that
 * are not an answer about these scopes (the service down, the app's credentials) stay what they were.
 */
export function resourceRefusalOf(error: unknown, request: Pick<ResourceScopes, 'resource'>, tenantId: string): AppError {
  if (!(error instanceof AppError)) return new AppError('refresh_unavailable', { cause: error });
  const { details } = error;
  const values = { resource: request.resource, personal: tenantId === PERSONAL_ACCOUNTS_TENANT ? 'yes' : 'no' };
  const refused = (code: keyof typeof RESOURCE_PROBLEMS) => new AppError(code, { values, details, cause: error });
  if (details.error === 'consent_required' || details.suberror === 'consent_required' || CONSENT_CODES.has(details.aadsts ?? ''))
    return refused('resource_consent_required');
  if (
    details.error === 'interaction_required' ||
    details.error === 'login_required' ||
    INTERACTION_SUBERRORS.has(details.suberror ?? '') ||
    INTERACTION_CODES.has(details.aadsts ?? '')
  )
    return refused('resource_interaction_required');
  if (SCOPE_ERRORS.has(details.error ?? '')) return refused('resource_scope_refused');
  if (details.error === 'invalid_grant') return refused('resource_refresh_refused');
  return new AppError(isAppError(error, 'client_misconfigured') ? 'refresh_provider_unavailable' : 'refresh_unavailable', {
    details,
    cause: error,
  });
}

/** The resource and scopes of the default entry (O365_SCOPES), or undefined when they name no resource. */
export function defaultScopesOf(scopes: readonly string[]): ResourceScopes | undefined {
  const parsed = parseResourceScopes(scopes);
  return parsed.ok ? parsed.value : undefined;
}

export function createResourceTokenService(dependencies: ResourceTokenServices): ResourceTokenService {
  const { config, discovery, verifier, tokenStore, resourceTokenStore, tokenService, redemptions, logger, now = Date.now } = dependencies;
  const defaultScopes = defaultScopesOf(config.scopes);
  const inFlight = new Map<string, Promise<ResourceToken>>();
  // As long as the default token's lease: discovery and the token request, each bounded by the HTTP timeout.
  const leaseMs = 2 * config.httpTimeoutMs + 5000;

  const tokenOf = (user: StoredUser, { updatedAt: _updatedAt, ...token }: StoredResourceToken, refreshed: boolean): ResourceToken =>
    Object.assign(token, { user, refreshed, isDefault: false, needsSignIn: false });

  const defaultTokenOf = (fresh: FreshSignIn, scopes: ResourceScopes): ResourceToken => ({
    user: fresh.user,
    resource: scopes.resource,
    scopeKey: scopes.key,
    requestedScopes: config.scopes,
    accessToken: fresh.tokens.accessToken,
    tokenType: fresh.tokens.tokenType,
    scopes: fresh.tokens.scopes,
    expiresAt: fresh.tokens.expiresAt,
    refreshed: fresh.refreshed,
    isDefault: true,
    needsSignIn: fresh.tokens.needsSignIn,
  });

  const load = async (userId: string, scopeKey: string): Promise<ResourceTokenRead> => {
    const read = await resourceTokenStore.loadResourceToken(userId, scopeKey);
    if (read === undefined) throw new AppError('no_stored_token');
    return read;
  };

  /** The grant a redemption may use, or why there is none: nothing stored, refused before (sign in), no refresh token. */
  const usableGrant = (read: ResourceTokenRead): StoredGrant & { refreshToken: string } => {
    const { grant } = read;
    if (grant === undefined) throw new AppError('no_stored_token');
    if (grant.needsSignIn) throw new AppError('refresh_refused_before');
    if (grant.refreshToken === undefined) throw new AppError('no_refresh_token');
    return Object.assign({}, grant, { refreshToken: grant.refreshToken });
  };

  /**
   * Redeems the refresh token for `request` while holding the lease; every path gives the lease back. Returns
   * undefined when the lease was lost before the result could be stored (a sign-in replaced the refresh token).
   */
  const redeem = async (
    user: StoredUser,
    refreshToken: string,
    request: ResourceScopes,
    lease: Date,
    log: Logger,
  ): Promise<ResourceToken | undefined> => {
    let response: RefreshResponse;
    try {
      const metadata = await discovery.getMetadata().catch((cause: unknown) => {
        throw new AppError('refresh_provider_unavailable', { cause });
      });
      // The OIDC scopes bring the rotated refresh token (offline_access) and an ID token to check it is still this user.
      response = await redeemRefreshToken(config, metadata, refreshToken, [...SIGN_IN_SCOPES, ...request.scopes]).catch(
        (error: unknown) => {
          throw resourceRefusalOf(error, request, user.tenantId);
        },
      );
      response = await verifyRefreshedIdToken(verifier, user, response, metadata, log);
      if (response.expiresInReplaced)
        log.warn('token answer for another resource had an absurd expires_in; stored with one hour assumed', { userId: user.id });
    } catch (error) {
      if (isAppError(error, 'refresh_for_another_user')) {
        // The refresh token answered for someone else: nothing of it is stored, and it is used no more.
        await tokenStore.markNeedsSignIn(user.id, lease, new Date(now()));
      } else {
        // A refusal for these scopes leaves the grant as it was: the same refresh token serves every other resource.
        await tokenStore.releaseRefreshLease(user.id, lease, new Date(now())).catch(() => undefined);
      }
      const details = error instanceof AppError ? error.details : {};
      log.warn('no token for another resource', {
        userId: user.id,
        resource: request.resource,
        kind: error instanceof AppError ? error.code : undefined,
        error: details.error,
        aadsts: details.aadsts,
        correlation_id: details.correlationId,
      });
      throw error;
    }
    const saved = await resourceTokenStore.saveRedeemedToken(user, request, response, new Date(now()), lease);
    if (saved === undefined) return undefined;
    if (saved.token === undefined) {
      // Its rotated refresh token is stored (it may be the only live one), its access token is not: no token came.
      log.warn('token answer for another resource had no usable access token; kept its refresh token', { userId: user.id });
      throw new AppError('refresh_unavailable', { cause: new Error('Token response: no usable access_token') });
    }
    log.info('token for another resource', { userId: user.id, resource: request.resource });
    return tokenOf(user, saved.token, true);
  };

  /** From the database while fresh; else redeems under the user's lease, or takes what another redemption stored. */
  const fetchToken = async (userId: string, request: ResourceScopes, options: { force?: boolean }, log: Logger): Promise<ResourceToken> => {
    let read = await load(userId, request.key);
    const first = read.token;
    if (!options.force && first !== undefined && !needsRefresh(first, now())) return tokenOf(read.user, first, false);
    const deadline = now() + leaseMs;
    let lostLease = false;
    for (;;) {
      const grant = usableGrant(read);
      const lease = await tokenStore.acquireRefreshLease(userId, new Date(now() + leaseMs), new Date(now()), grant.updatedAt);
      let waited: Promise<void> | undefined;
      if (lease !== undefined) {
        const token = await redemptions.track(userId, redeem(read.user, grant.refreshToken, request, lease, log));
        if (token !== undefined) return token;
        // A sign-in replaced the refresh token meanwhile: one more try with its newer one, never a loop of redemptions.
        if (lostLease) throw new AppError('refresh_taking_too_long');
        lostLease = true;
      } else {
        if (now() > deadline) throw new AppError('refresh_taking_too_long');
        // Another redemption of this user's refresh token runs (for any resource): never send the same one twice.
        waited = redemptions.settled(userId);
        if (waited !== undefined) await waited;
      }
      const current = await load(userId, request.key);
      // It was for this scope set: take its token rather than redeem again.
      const theirs = current.token;
      if (theirs !== undefined && theirs.updatedAt.getTime() !== first?.updatedAt.getTime() && !needsRefresh(theirs, now()))
        return tokenOf(current.user, theirs, false);
      if (lease === undefined && waited === undefined && current.grant?.updatedAt.getTime() === read.grant?.updatedAt.getTime())
        await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      read = current;
    }
  };

  return {
    async getResourceToken(userId, request, options = {}) {
      const log = options.logger ?? logger;
      if (defaultScopes !== undefined && request.key === defaultScopes.key) {
        return defaultTokenOf(await tokenService.getFreshTokens(userId, { force: options.force, logger: log }), defaultScopes);
      }
      const flight = `${userId}\n${request.key}`;
      const running = inFlight.get(flight);
      if (running !== undefined) return running;
      const promise = fetchToken(userId, request, options, log).finally(() => inFlight.delete(flight));
      inFlight.set(flight, promise);
      return promise;
    },
  };
}
