// Development only: the oidc-provider instance behind the local Microsoft-compatible identity provider.
import { randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';
import type { CanBePromise, ClientMetadata, Configuration, KoaContextWithOIDC, TokenEndpointGrantContext } from 'oidc-provider';

import { TENANT_ID, findAccountBySubject, isPersonalAccount } from './accounts.ts';
import { GRAPH_APP_ID, GRAPH_SCOPES } from './graph.ts';
import type { SigningKey } from './keys.ts';
import { interactionPath } from './login-page.ts';
import { createMemoryAdapterFactory } from './memory-adapter.ts';
import { checkClaimsParameter } from './mfa-challenge.ts';
import { aadErrorFor } from './microsoft-errors.ts';
import { tokenEndpointSecretOf } from './client-authentication.ts';
import { renderErrorPage, renderSignOutPage, renderSignedOutPage } from './message-pages.ts';
import type { GrantHandler } from './resource-grants.ts';
import {
  OIDC_SCOPE_NAMES,
  type ResourceCatalogue,
  chooseDefaultResource,
  describeResourceServer,
  parseScopes,
  permissionNames,
} from './resources.ts';
import type { IdpClient, TestAccount } from './types.ts';

/** Paths of the provider's routes, relative to a tenant segment (the router adds `/{tenant}`). */
export const PROVIDER_ROUTES = {
  authorization: '/oauth2/v2.0/authorize',
  token: '/oauth2/v2.0/token',
  jwks: '/discovery/v2.0/keys',
  endSession: '/oauth2/v2.0/logout',
} as const;

/** Name of oidc-provider's session cookie (distinct from the app's cookies on the same host). */
export const SESSION_COOKIE = 'idp_session';

const ID_TOKEN_TTL_SECONDS = 3600;
const REFRESH_TOKEN_TTL_SECONDS = 90 * 24 * 3600;

/** Settings of {@link createProvider}. */
export interface ProviderSettings {
  /** `${origin}/${TENANT_ID}/v2.0`. */
  issuer: string;
  /** Issuer written into Graph access tokens (v1.0 tokens use the `{origin}/{tid}/` form). */
  accessTokenIssuer: string;
  clients: readonly IdpClient[];
  signingKey: SigningKey;
  accessTokenTtlSeconds: number;
  /** The resources besides Graph. */
  catalogue: ResourceCatalogue;
  /** Wraps oidc-provider's built-in grant handlers (the resource-aware refresh and code redemption). */
  wrapGrantHandler(grantType: string, handler: GrantHandler): GrantHandler;
}

/** The v2.0 issuer of the home tenant on this origin. */
export function issuerFor(origin: string): string {
  return `${origin}/${TENANT_ID}/v2.0`;
}

/** Graph permissions relevant to the current request: the known ones plus every non-OIDC scope requested. */
function graphScopesFor(ctx: KoaContextWithOIDC): string {
  const requested = [ctx.oidc.params?.scope, ctx.oidc.entities.AuthorizationCode?.scope, ctx.oidc.entities.RefreshToken?.scope]
    .filter((value): value is string => typeof value === 'string')
    .flatMap((value) => value.split(' '))
    .filter((scope) => scope !== '' && scope !== 'offline_access');
  return [...new Set(['openid', 'profile', 'email', ...GRAPH_SCOPES, ...requested])].join(' ');
}

/**
 * True when the request or the user's earlier consent includes offline_access. oidc-provider strips
 * offline_access from prompt=none requests; Microsoft still issues refresh tokens for them.
 */
function offlineAccessGranted(ctx: KoaContextWithOIDC, scopes: Set<string>): boolean {
  return scopes.has('offline_access') || (ctx.oidc.entities.Grant?.getOIDCScope().split(' ').includes('offline_access') ?? false);
}

function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: tokenEndpointSecretOf(client),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [...new Set(client.redirectUris.map((uri) => `${new URL(uri).origin}/`))],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  };
}

/** The account a token request or sign-in is about, once oidc-provider has loaded it. */
function accountOf(ctx: KoaContextWithOIDC): TestAccount | undefined {
  const accountId = ctx.oidc.entities.Account?.accountId;
  return accountId === undefined ? undefined : findAccountBySubject(accountId);
}

/**
 * oidc-provider registers its built-in grants through registerGrantType while it is constructed; a
 * subclass is the one place to wrap them, so the resource checks run after client authentication.
 */
function providerWithWrappedGrants(wrap: ProviderSettings['wrapGrantHandler']): typeof Provider {
  return class MicrosoftProvider extends Provider {
    override registerGrantType<Params extends object>(
      name: string,
      handler: (ctx: TokenEndpointGrantContext<Params>) => CanBePromise<void>,
      params?: string | readonly string[] | ReadonlySet<string>,
      duplicates?: string | readonly string[] | ReadonlySet<string>,
    ): void {
      const names = params === undefined ? [] : typeof params === 'string' ? [params] : [...params];
      // Microsoft reads `scope` at code redemption to pick the token's resource.
      const withScope = name === 'authorization_code' ? [...names, 'scope'] : names;
      super.registerGrantType(name, wrap(name, handler as GrantHandler) as typeof handler, withScope, duplicates);
    }
  };
}

/** Creates the oidc-provider instance configured like Microsoft Entra ID v2.0 for the home tenant. */
export function createProvider(settings: ProviderSettings): Provider {
  const configuration: Configuration = {
    adapter: createMemoryAdapterFactory(),
    clients: settings.clients.map(clientMetadata),
    jwks: { keys: [settings.signingKey.privateJwk] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      names: { session: SESSION_COOKIE, interaction: 'idp_interaction', resume: 'idp_interaction_resume' },
    },
    routes: {
      authorization: PROVIDER_ROUTES.authorization,
      token: PROVIDER_ROUTES.token,
      jwks: PROVIDER_ROUTES.jwks,
      end_session: PROVIDER_ROUTES.endSession,
    },
    responseTypes: ['code'],
    scopes: [...OIDC_SCOPE_NAMES],
    // Microsoft's claims challenge comes back on /authorize as `claims` (not OpenID's claims request).
    extraParams: { claims: checkClaimsParameter },
    claims: {
      openid: ['sub', 'tid', 'oid', 'ver', 'nbf', 'login_hint'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    pkce: { required: () => true },
    // Microsoft returns a new refresh token on every refresh.
    rotateRefreshToken: true,
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && offlineAccessGranted(ctx, code.scopes),
    expiresWithSession: async (ctx, code) => !offlineAccessGranted(ctx, code.scopes),
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      AuthorizationCode: 600,
      IdToken: ID_TOKEN_TTL_SECONDS,
      RefreshToken: REFRESH_TOKEN_TTL_SECONDS,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: REFRESH_TOKEN_TTL_SECONDS,
    },
    async findAccount(_ctx, sub) {
      const account = findAccountBySubject(sub);
      if (account === undefined) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            tid: account.tenantId,
            oid: account.objectId,
            ver: '2.0',
            nbf: Math.floor(Date.now() / 1000),
            name: account.displayName,
            preferred_username: account.username,
            email: account.username,
            // Microsoft's optional login_hint claim: opaque, for logout_hint at sign-out.
            login_hint: Buffer.from(`${account.objectId}@${account.tenantId}`).toString('base64url'),
          };
        },
      };
    },
    interactions: {
      url: (_ctx, interaction) => interactionPath(interaction.uid),
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Microsoft resolves scopes like User.Read to Graph without a `resource` parameter.
        defaultResource: (_ctx, _client, oneOf) => chooseDefaultResource(oneOf),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const scope = ctx.oidc.params?.scope;
          if (ctx.oidc.route !== 'token' && typeof scope === 'string' && parseScopes(scope, settings.catalogue).unknown.length > 0) {
            throw new errors.InvalidScope(`The scope ${scope} is not valid.`, scope);
          }
          const account = accountOf(ctx);
          const description = describeResourceServer(resource, {
            catalogue: settings.catalogue,
            personalAccount: account !== undefined && isPersonalAccount(account),
            graphScope: graphScopesFor(ctx),
            accessTokenTtlSeconds: settings.accessTokenTtlSeconds,
          });
          if (description === undefined) throw new errors.InvalidTarget();
          return description;
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          const params = ctx.oidc.params ?? {};
          ctx.type = 'html';
          ctx.body = renderSignOutPage(form, params.id_token_hint !== undefined || params.logout_hint !== undefined);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = renderSignedOutPage();
        },
      },
    },
    formats: {
      customizers: {
        // Shape access tokens like Microsoft's v1.0 tokens (Graph's alone carry a header nonce).
        jwt: (_ctx, token, parts) => {
          const payload = parts.payload;
          const account = 'accountId' in token ? findAccountBySubject(token.accountId) : undefined;
          const tenantId = account?.tenantId ?? TENANT_ID;
          parts.header = payload.aud === GRAPH_APP_ID ? { typ: 'JWT', nonce: randomBytes(32).toString('base64url') } : { typ: 'JWT' };
          parts.payload = {
            aud: payload.aud,
            iss: settings.accessTokenIssuer.replace(TENANT_ID, tenantId),
            iat: payload.iat,
            nbf: payload.iat,
            exp: payload.exp,
            amr: ['pwd'],
            appid: token.clientId,
            appidacr: '1',
            family_name: account?.surname,
            given_name: account?.givenName,
            idtyp: 'user',
            name: account?.displayName,
            oid: account?.objectId,
            scp:
              typeof payload.aud === 'string' && typeof payload.scope === 'string'
                ? permissionNames(payload.scope, payload.aud)
                : payload.scope,
            sub: payload.sub,
            tid: tenantId,
            unique_name: account?.username,
            upn: account?.username,
            uti: payload.jti,
            ver: '1.0',
          };
        },
      },
    },
    async renderError(ctx, out, error) {
      const params = ctx.oidc?.params ?? {};
      const hint = (name: string): string | undefined => {
        const value = params[name] ?? ctx.query[name];
        return typeof value === 'string' ? value : undefined;
      };
      const detail = 'error_detail' in error && typeof error.error_detail === 'string' ? error.error_detail : undefined;
      const aad = aadErrorFor(String(out.error), out.error_description as string | undefined, detail, {
        clientId: hint('client_id'),
        redirectUri: hint('redirect_uri'),
      });
      ctx.type = 'html';
      ctx.body = renderErrorPage(aad);
    },
  };

  const provider = new (providerWithWrappedGrants(settings.wrapGrantHandler))(settings.issuer, configuration);
  provider.proxy = false;
  return provider;
}
