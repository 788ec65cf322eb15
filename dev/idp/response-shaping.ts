// Development only: post-processing of oidc-provider responses into Microsoft's shapes, and the token-endpoint faults.
import type Provider from 'oidc-provider';

import { type IdTokenFaultContext, alterTokenResponse, isIdTokenFault, isResponseFault, tamperIdToken } from './faults.ts';
import { type KeyRing, resignForKeyFault } from './key-faults.ts';
import { aadDescription, aadErrorFor, microsoftErrorBody, newTraceInfo } from './microsoft-errors.ts';
import { PROVIDER_ROUTES } from './provider-config.ts';
import { clientAuthenticationOf } from './client-authentication.ts';
import type { IdpFault, ReceivedTokenRequest } from './types.ts';

type KoaMiddleware = Parameters<Provider['use']>[0];
type KoaContext = Parameters<KoaMiddleware>[0];

/** What the token-endpoint post-processing needs from the running provider. */
export interface TokenEndpointHooks {
  faults(): readonly IdpFault[];
  recordAccessToken(accessToken: string): void;
  /** Every genuine id_token, in order (the replay fault hands out the previous one). */
  recordIdToken(idToken: string): void;
  /** Every token request oidc-provider answered: grant, verifier, the redeemed code's challenge, status. */
  recordTokenRequest(request: ReceivedTokenRequest): void;
  /** Codes, verifiers, secrets and tokens, for tests that search logs for them. */
  recordSecret(value: unknown): void;
  faultContext: IdTokenFaultContext;
  keyRing: KeyRing;
  /** The resource a token request was resolved to. */
  resourceOf(ctx: object): string | undefined;
  /** The genuine id_token as Microsoft would write it for its account (a personal account's names the consumers tenant). */
  reissueIdToken(idToken: string): Promise<string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function hintsOf(ctx: KoaContext): { clientId?: string; redirectUri?: string; resource?: string } {
  const oidc = (ctx as { oidc?: { client?: { clientId: string }; params?: Record<string, unknown> } }).oidc;
  const params = oidc?.params ?? {};
  const query = ctx.query as Record<string, unknown>;
  return {
    clientId: oidc?.client?.clientId ?? stringOf(params.client_id) ?? stringOf(query.client_id),
    redirectUri: stringOf(params.redirect_uri) ?? stringOf(query.redirect_uri),
    resource: stringOf(params.resource),
  };
}

/**
 * Token endpoint: errors become Microsoft's JSON (AADSTS codes, trace and correlation ids),
 * successes gain `ext_expires_in`, id-token faults alter the id_token, and every access token
 * handed out is recorded.
 */
export function shapeTokenResponses(provider: Provider, hooks: TokenEndpointHooks): void {
  const errorsByContext = new WeakMap<object, Error>();
  const remember = (ctx: object, error: Error): void => {
    errorsByContext.set(ctx, error);
  };
  provider.on('grant.error', remember);
  provider.on('server_error', remember);

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== PROVIDER_ROUTES.token) return;

    const oidc = (ctx as { oidc?: { body?: Record<string, unknown>; entities?: { AuthorizationCode?: { codeChallenge?: string } } } }).oidc;
    const requestBody = oidc?.body ?? {};
    hooks.recordTokenRequest({
      grantType: stringOf(requestBody.grant_type),
      codeVerifier: stringOf(requestBody.code_verifier),
      codeChallenge: oidc?.entities?.AuthorizationCode?.codeChallenge,
      scope: stringOf(requestBody.scope),
      resource: hooks.resourceOf(ctx),
      status: ctx.status,
      clientPort: ctx.req.socket.remotePort,
      ...clientAuthenticationOf(ctx.req),
    });
    // Codes are recorded when issued (shapeAuthorizationRedirects): a posted one may be any text a test chose.
    for (const name of ['code_verifier', 'client_secret', 'refresh_token']) hooks.recordSecret(requestBody[name]);

    const body: unknown = ctx.body;
    if (ctx.status === 200 && isRecord(body) && typeof body.access_token === 'string') {
      const faults = hooks.faults();
      let idToken = stringOf(body.id_token);
      if (idToken !== undefined) {
        idToken = await hooks.reissueIdToken(idToken);
        const genuine = idToken;
        const idTokenFault = faults.find(isIdTokenFault);
        if (idTokenFault !== undefined) idToken = await tamperIdToken(idTokenFault, idToken, hooks.faultContext);
        idToken = await resignForKeyFault(faults, idToken, hooks.keyRing);
        hooks.recordIdToken(genuine);
        hooks.recordSecret(genuine);
      }
      let shaped: Record<string, unknown> = {
        token_type: body.token_type,
        scope: body.scope,
        expires_in: body.expires_in,
        ext_expires_in: body.expires_in,
        access_token: body.access_token,
        refresh_token: body.refresh_token,
        id_token: idToken,
      };
      const responseFault = faults.find(isResponseFault);
      if (responseFault !== undefined) shaped = alterTokenResponse(responseFault, shaped);
      hooks.recordSecret(body.access_token);
      for (const name of ['access_token', 'refresh_token', 'id_token']) hooks.recordSecret(shaped[name]);
      if (typeof shaped.access_token === 'string') hooks.recordAccessToken(shaped.access_token);
      ctx.body = shaped;
      return;
    }

    if (ctx.status >= 400) {
      const error = errorsByContext.get(ctx) as
        | (Error & { error_description?: string; error_detail?: string; expose?: boolean; microsoftBody?: unknown })
        | undefined;
      if (isRecord(error?.microsoftBody)) {
        // Already Microsoft's answer (resource-grants.ts), with its suberror or claims challenge.
        ctx.type = 'json';
        ctx.body = error.microsoftBody;
        return;
      }
      const oauthError = isRecord(body)
        ? (stringOf(body.error) ?? 'server_error')
        : error?.expose === true
          ? error.message
          : 'server_error';
      const description = isRecord(body) ? stringOf(body.error_description) : error?.error_description;
      const aad = aadErrorFor(oauthError, description, error?.error_detail, hintsOf(ctx));
      ctx.type = 'json';
      ctx.body = microsoftErrorBody(oauthError, aad);
    }
  });
}

function rewriteResponseParameters(params: URLSearchParams, provider: Provider, ctx: KoaContext): boolean {
  if (params.get('iss') !== provider.issuer) return false;
  // Microsoft sends no RFC 9207 `iss` parameter; a client comparing it to the `{tenantid}` template would fail.
  params.delete('iss');
  const error = params.get('error');
  const description = params.get('error_description') ?? undefined;
  if (error !== null && !description?.startsWith('AADSTS')) {
    params.set('error_description', aadDescription(aadErrorFor(error, description, undefined, hintsOf(ctx)), newTraceInfo()));
  }
  return true;
}

/** Authorization redirects back to the client: drop `iss`, and give errors Microsoft's AADSTS descriptions. */
export function shapeAuthorizationRedirects(provider: Provider, recordSecret: (value: unknown) => void = () => {}): void {
  provider.use(async (ctx, next) => {
    await next();
    if (!ctx.path.startsWith(PROVIDER_ROUTES.authorization)) return;
    const location = ctx.response.get('Location');
    if (location === '' || !URL.canParse(location)) return;

    const url = new URL(location);
    recordSecret(url.searchParams.get('code'));
    let changed = rewriteResponseParameters(url.searchParams, provider, ctx);
    if (url.hash.length > 1) {
      const fragment = new URLSearchParams(url.hash.slice(1));
      if (rewriteResponseParameters(fragment, provider, ctx)) {
        url.hash = fragment.toString();
        changed = true;
      }
    }
    if (changed) {
      ctx.set('Location', url.href);
      ctx.body = `Redirecting to ${url.href}.`;
    }
  });
}
