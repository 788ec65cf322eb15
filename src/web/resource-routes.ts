import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import type { Discovery } from '../auth/discovery.ts';
import { addPendingAdminConsent, adminConsentTenantOf, buildAdminConsentUrl, createPendingAdminConsent } from '../auth/admin-consent.ts';
import { buildAuthorizationUrl } from '../auth/oauth-client.ts';
import { addPendingSignIn, createPendingSignIn } from '../auth/pending-sign-ins.ts';
import { parseResourceScopes, requestedScopesOf } from '../auth/resource-scopes.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import { AppError, claimsChallengeOf, scopeProblemError } from '../errors.ts';
import { saveSession } from '../sessions/session-lifecycle.ts';
import type { Notice } from '../sessions/session-data.ts';
import { resourceProblemOf } from '../tokens/resource-token-service.ts';
import type { ResourceProblem, ResourceTokenService } from '../tokens/resource-token-service.ts';
import type { TokenStore } from '../tokens/token-store.ts';
import { requireSignedInForm } from './csrf.ts';
import { saveSessionNotice } from './notices.ts';
import { redirectTo } from './redirect.ts';

/** A form's text field: one string, trimmed; undefined when absent, empty, repeated or not text. */
function field(req: Request, name: string): string | undefined {
  const value: unknown = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The notice that explains why no token came, with what the sign-in and admin-consent buttons need. */
function refusedNotice(error: AppError, problem: ResourceProblem | 'invalid_request', request: ResourceScopes | undefined): Notice {
  const { details } = error;
  const keep = (value: string | undefined, length: number) => (value === undefined ? undefined : value.slice(0, length));
  return {
    kind: 'resource-refused',
    problem,
    title: error.title,
    message: keep(error.message, 1000) ?? '',
    fix: keep(error.fix, 1000) ?? '',
    resource: request?.resource,
    scopes: request === undefined ? undefined : [...request.scopes],
    aadsts: keep(details.aadsts, 10),
    description: keep(details.description, 500),
    correlationId: keep(details.correlationId, 100),
    claims: details.claims,
  };
}

/**
 * POST /resources ("Get a token for another API"): the scopes of one resource, or a resource URI; the token comes
 * from the store while valid, else from the user's refresh token. Then back to the page, which lists it, or says why not.
 */
export function createResourceTokenRoute(resourceTokenService: ResourceTokenService): RequestHandler {
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    const parse = requestedScopesOf(field(req, 'scope'), field(req, 'resource'));
    let notice: Notice;
    if (!parse.ok) {
      notice = refusedNotice(scopeProblemError(parse), 'invalid_request', undefined);
    } else {
      try {
        const token = await resourceTokenService.getResourceToken(userId, parse.value, {
          force: field(req, 'renew') === '1',
          logger: req.log,
        });
        notice = { kind: 'resource-token', resource: token.resource, refreshed: token.refreshed };
      } catch (error) {
        const problem = resourceProblemOf(error);
        if (problem === undefined || !(error instanceof AppError)) throw error;
        notice = refusedNotice(error, problem, parse.value);
      }
    }
    await saveSessionNotice(req, notice);
    redirectTo(res, 303, '/');
  };
}

/** A scope list from a consent form: one resource, or the form is refused (the page only offers checked lists). */
function consentScopesOf(req: Request): ResourceScopes {
  const parse = parseResourceScopes(field(req, 'scope') ?? '');
  if (!parse.ok) throw formRefused(scopeProblemError(parse).message);
  return parse.value;
}

/** The page only ever sends checked values: anything else was not sent by it. */
function formRefused(reason: string): AppError {
  return new AppError('request_unreadable', { status: 400, cause: new Error(reason) });
}

/**
 * POST /resources/sign-in ("Sign in for this API"): an interactive sign-in asking for exactly this resource's scopes
 * (and openid profile offline_access), as the signed-in user (`login_hint`), with Microsoft's claims challenge passed
 * on; a new state, nonce and PKCE verifier in this browser's session, as /connect. The callback stores its tokens for
 * this user only.
 */
export function createResourceSignInRoute(config: Config, discovery: Discovery, tokenStore: TokenStore, now: () => number): RequestHandler {
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    const request = consentScopesOf(req);
    const claimsField = field(req, 'claims');
    const claims = claimsField === undefined ? undefined : claimsChallengeOf(claimsField);
    if (claimsField !== undefined && claims === undefined) throw formRefused('the claims field is not a claims challenge');
    const signIn = await tokenStore.loadSignIn(userId);
    if (signIn === undefined) throw new AppError('form_expired');
    const metadata = await discovery.getMetadata();
    const pending = createPendingSignIn(now(), { userId, scopes: [...request.scopes], ...(claims === undefined ? {} : { claims }) });
    req.session.pendingSignIns = addPendingSignIn(req.session.pendingSignIns, pending);
    // The session must be stored before the browser leaves, or the callback finds nothing.
    await saveSession(req);
    res.set('Cache-Control', 'no-store');
    redirectTo(res, 303, buildAuthorizationUrl(config, metadata, pending, { loginHint: signIn.user.username || undefined }));
  };
}

/**
 * POST /resources/admin-consent ("Ask an administrator"): Microsoft's admin-consent page for this resource's scopes in
 * the user's own tenant (never `common`), with a one-time state kept in this browser's session; the answer comes back
 * to the registered redirect URI. Personal accounts have no administrator: refused.
 */
export function createAdminConsentRoute(config: Config, tokenStore: TokenStore, now: () => number): RequestHandler {
  return async (req, res) => {
    const userId = requireSignedInForm(req);
    const request = consentScopesOf(req);
    const signIn = await tokenStore.loadSignIn(userId);
    if (signIn === undefined) throw new AppError('form_expired');
    const tenantId = adminConsentTenantOf(signIn.user.tenantId);
    if (tenantId === undefined) throw new AppError('admin_consent_personal_account');
    const pending = createPendingAdminConsent(now(), { tenantId, scopes: request.scopes });
    req.session.pendingAdminConsents = addPendingAdminConsent(req.session.pendingAdminConsents, pending);
    await saveSession(req);
    res.set('Cache-Control', 'no-store');
    redirectTo(res, 303, buildAdminConsentUrl(config, pending));
  };
}
