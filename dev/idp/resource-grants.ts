// Development only: the token endpoint's answer to a `scope` naming another resource (refresh and code redemption), as Microsoft gives it.
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { findAccountBySubject, isPersonalAccount } from './accounts.ts';
import type { ConsentStore } from './consent-store.ts';
import { GRAPH_RESOURCE } from './graph.ts';
import { MFA_CLAIMS_CHALLENGE, MFA_METHOD } from './mfa-challenge.ts';
import { AAD, type AadError, type MicrosoftErrorBody, type MicrosoftErrorExtras, microsoftErrorBody } from './microsoft-errors.ts';
import { type ResourceCatalogue, qualifiedScope, resolveTokenScope } from './resources.ts';

/** A grant-type handler as oidc-provider registers it. */
export type GrantHandler = (ctx: KoaContextWithOIDC) => unknown;

/** What the resource-aware grants need. */
export interface ResourceGrantSettings {
  catalogue: ResourceCatalogue;
  consent: ConsentStore;
  /** The app's name in Microsoft's AADSTS65001 text. */
  appName: string;
}

/** The resource-aware refresh and code grants, and what they observed. */
export interface ResourceGrants {
  /** Wraps oidc-provider's built-in handler of a grant type (refresh_token, authorization_code); others are returned as they are. */
  wrapGrantHandler(grantType: string, handler: GrantHandler): GrantHandler;
  /** The resource a token request was resolved to (undefined when it failed before). */
  resourceOf(ctx: object): string | undefined;
  /** How many refreshes presented a refresh token an earlier refresh had rotated away. */
  refreshTokenReuseCount(): number;
}

/** A refusal whose Microsoft JSON body is ready; response-shaping sends it as it is. */
export class MicrosoftTokenRefusal extends errors.CustomOIDCProviderError {
  readonly microsoftBody: MicrosoftErrorBody;

  constructor(error: string, aad: AadError, extras: Omit<MicrosoftErrorExtras, 'withErrorUri'> = {}) {
    super(error, `AADSTS${aad.code}`);
    // Current token-endpoint errors name Microsoft's page for the code (AzureAD/microsoft-authentication-library-for-js#5491).
    this.microsoftBody = microsoftErrorBody(error, aad, undefined, { ...extras, withErrorUri: true });
  }
}

type Params = Record<string, unknown>;
type RefreshToken = InstanceType<Provider['RefreshToken']>;

function paramsOf(ctx: KoaContextWithOIDC): Params {
  return ctx.oidc.params as Params;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function resourcesOf(token: { resource?: string | string[] | undefined }): string[] {
  if (token.resource === undefined) return [];
  return Array.isArray(token.resource) ? [...token.resource] : [token.resource];
}

/**
 * Grant types that answer like Microsoft when `scope` names a resource other than the one the sign-in
 * asked for: "Refresh tokens are valid for all permissions that your client has already received
 * consent for" (learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
 * The checks run inside the token endpoint, after client authentication, and before oidc-provider's
 * own grant, which then issues the token once the refresh token and its grant carry the scopes.
 */
export function createResourceGrants(settings: ResourceGrantSettings): ResourceGrants {
  const resources = new WeakMap<object, string>();
  const rotatedAway = new Set<string>();
  let reuses = 0;

  /** Checks a refresh for one resource and widens the refresh token and its grant to the consented permissions asked for. */
  async function prepareRefresh(ctx: KoaContextWithOIDC, refreshToken: RefreshToken, scope: string): Promise<void> {
    const resolution = resolveTokenScope(scope, settings.catalogue);
    if (!resolution.ok) throw new MicrosoftTokenRefusal(resolution.error, resolution.aad);
    const { resource } = resolution;
    if (resource === undefined) return; // OpenID scopes only: the refresh token's own resource, as before
    resources.set(ctx, resource);
    const account = findAccountBySubject(refreshToken.accountId);
    const grant = await ctx.oidc.provider.Grant.find(refreshToken.grantId ?? '');
    if (account === undefined || grant === undefined) return; // oidc-provider answers invalid_grant

    const catalogued = settings.catalogue.find(resource);
    if (catalogued?.workAccountsOnly === true && isPersonalAccount(account)) {
      // Microsoft has no such scope for personal accounts (AzureAD/microsoft-identity-web#651).
      throw new MicrosoftTokenRefusal('invalid_scope', AAD.scopeDoesNotExist(scope));
    }

    const consented = settings.consent.consentedPermissions(account, ctx.oidc.client?.clientId ?? '', resource);
    // Graph permissions a sign-in granted stay granted with its refresh token, as before.
    if (resource === GRAPH_RESOURCE) for (const permission of grant.getResourceScope(GRAPH_RESOURCE).split(' ')) consented.add(permission);
    consented.delete('');
    const spelled = (permission: string): string | undefined =>
      [...consented].find((granted) => granted.toLowerCase() === permission.toLowerCase());
    const asked = resolution.wantsDefault ? [...consented] : resolution.permissions;
    const granted = asked.map(spelled);
    if (asked.length === 0 || granted.some((permission) => permission === undefined)) {
      throw new MicrosoftTokenRefusal('invalid_grant', AAD.delegationDoesNotExist(ctx.oidc.client?.clientId ?? '', settings.appName), {
        suberror: 'consent_required',
      });
    }
    if (catalogued?.requiresMfa === true && !(refreshToken.amr ?? []).includes(MFA_METHOD)) {
      throw new MicrosoftTokenRefusal('invalid_grant', AAD.mfaRequired(resource), {
        suberror: 'basic_action',
        claims: MFA_CLAIMS_CHALLENGE,
      });
    }

    const scopes = (granted as string[]).map((permission) =>
      resource === GRAPH_RESOURCE ? permission : qualifiedScope(resource, permission),
    );
    const held = refreshToken.scopes;
    const heldResources = resourcesOf(refreshToken);
    if (scopes.some((item) => !held.has(item)) || !heldResources.includes(resource)) {
      refreshToken.scope = [...new Set([...held, ...scopes])].join(' ');
      refreshToken.resource = [...new Set([...heldResources, resource])];
      await refreshToken.save();
    }
    const inGrant = new Set(grant.getResourceScope(resource).split(' '));
    if (scopes.some((item) => !inGrant.has(item))) {
      grant.addResourceScope(resource, scopes.join(' '));
      await grant.save();
    }
    const params = paramsOf(ctx);
    // OpenID scopes the sign-in did not grant are left out rather than refused.
    params.scope = [...resolution.oidc.filter((item) => held.has(item)), ...scopes].join(' ');
    params.resource = resource;
  }

  function wrapRefresh(handler: GrantHandler): GrantHandler {
    return async (ctx) => {
      const params = paramsOf(ctx);
      const value = nonEmptyString(params.refresh_token);
      // "Refresh tokens aren't revoked when used … You're expected to discard the old refresh token": count who does not.
      if (value !== undefined && rotatedAway.has(value)) reuses += 1;
      const scope = nonEmptyString(params.scope);
      const refreshToken = value === undefined ? undefined : await ctx.oidc.provider.RefreshToken.find(value);
      if (scope !== undefined && refreshToken !== undefined && refreshToken.clientId === ctx.oidc.client?.clientId) {
        await prepareRefresh(ctx, refreshToken, scope);
      }
      await handler(ctx);
      const answer = ctx.body as { refresh_token?: unknown } | undefined;
      if (value !== undefined && typeof answer?.refresh_token === 'string' && answer.refresh_token !== value) rotatedAway.add(value);
      const issued = ctx.oidc.entities.AccessToken?.resourceServer?.identifier();
      if (issued !== undefined) resources.set(ctx, issued);
    };
  }

  function wrapCodeRedemption(handler: GrantHandler): GrantHandler {
    return async (ctx) => {
      const params = paramsOf(ctx);
      const scope = nonEmptyString(params.scope);
      if (scope !== undefined) {
        // "The scopes must all be from a single resource, along with OIDC scopes" (v2-oauth2-auth-code-flow, code redemption).
        const resolution = resolveTokenScope(scope, settings.catalogue);
        if (!resolution.ok) throw new MicrosoftTokenRefusal(resolution.error, resolution.aad);
        const code =
          resolution.resource === undefined ? undefined : await ctx.oidc.provider.AuthorizationCode.find(String(params.code ?? ''));
        if (resolution.resource !== undefined && code !== undefined && resourcesOf(code).includes(resolution.resource)) {
          params.resource = resolution.resource;
        }
      }
      await handler(ctx);
      const issued = ctx.oidc.entities.AccessToken?.resourceServer?.identifier();
      if (issued !== undefined) resources.set(ctx, issued);
    };
  }

  return {
    wrapGrantHandler(grantType, handler) {
      if (grantType === 'refresh_token') return wrapRefresh(handler);
      if (grantType === 'authorization_code') return wrapCodeRedemption(handler);
      return handler;
    },
    resourceOf: (ctx) => resources.get(ctx),
    refreshTokenReuseCount: () => reuses,
  };
}
