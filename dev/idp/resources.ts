// Development only: the resources (APIs) the local identity provider issues tokens for, and how a `scope` names them.
import { GRAPH_APP_ID, GRAPH_RESOURCE } from './graph.ts';
import { AAD, type AadError } from './microsoft-errors.ts';
import type { IdpResource } from './types.ts';

/** The OpenID Connect scopes; Microsoft hosts them on Graph, and they may accompany any one resource's scopes. */
export const OIDC_SCOPE_NAMES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

/** The resources besides Graph when StartIdpOptions.resources is omitted: Outlook and ARM consented, SharePoint, Dataverse and the custom API not. */
export const DEFAULT_IDP_RESOURCES: readonly IdpResource[] = Object.freeze([
  {
    identifier: 'https://outlook.office.com',
    scopes: ['Mail.Read', 'IMAP.AccessAsUser.All', 'SMTP.Send'],
    consent: 'tenant',
    displayName: 'Outlook (Microsoft 365 mail)',
  },
  {
    identifier: 'https://management.azure.com',
    scopes: ['user_impersonation'],
    consent: 'tenant',
    workAccountsOnly: true,
    displayName: 'Azure Resource Manager',
  },
  {
    identifier: 'https://contoso.sharepoint.com',
    scopes: ['AllSites.Read'],
    consent: 'none',
    workAccountsOnly: true,
    displayName: 'SharePoint (contoso)',
  },
  {
    identifier: 'https://storage.azure.com',
    scopes: ['user_impersonation'],
    consent: 'tenant',
    workAccountsOnly: true,
    displayName: 'Azure Storage',
  },
  {
    identifier: 'https://contoso.crm.dynamics.com',
    scopes: ['user_impersonation'],
    consent: 'none',
    workAccountsOnly: true,
    displayName: 'Dataverse (contoso)',
  },
  {
    identifier: 'api://b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f',
    scopes: ['Read', 'Write'],
    consent: 'none',
    displayName: 'Custom API',
  },
] satisfies IdpResource[]);

/** The permission that stands for every consented permission of a resource. */
export const DEFAULT_PERMISSION = '.default';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The resources of one provider, looked up by the identifier a scope carries. */
export interface ResourceCatalogue {
  readonly resources: readonly IdpResource[];
  /** The resource (Graph excluded) whose identifier is this one, ignoring case and one trailing slash. */
  find(identifier: string): IdpResource | undefined;
}

/** The scopes of a request, grouped: OIDC scopes, permissions per resource (Graph is GRAPH_RESOURCE), and scopes that name nothing known. */
export interface ScopeRequest {
  oidc: string[];
  /** Resource identifier → permission names as the resource spells them (or '.default'), in request order. */
  permissions: Map<string, string[]>;
  unknown: string[];
}

/** A token request's `scope`, resolved to one resource, or the error Microsoft answers. */
export type TokenScope =
  | { ok: true; resource: string | undefined; oidc: string[]; permissions: string[]; wantsDefault: boolean }
  | { ok: false; error: 'invalid_request' | 'invalid_scope'; aad: AadError };

function comparable(identifier: string): string {
  return (identifier.endsWith('/') ? identifier.slice(0, -1) : identifier).toLowerCase();
}

/** Checks the configured resources once at start; a bad one is a programming error in a test or demo. */
export function createResourceCatalogue(resources: readonly IdpResource[]): ResourceCatalogue {
  const byIdentifier = new Map<string, IdpResource>();
  for (const resource of resources) {
    if (!URL.canParse(resource.identifier) || comparable(resource.identifier) === GRAPH_RESOURCE) {
      throw new Error(`IdpResource identifier '${resource.identifier}' must be an absolute URI other than Microsoft Graph's`);
    }
    if (byIdentifier.has(comparable(resource.identifier))) throw new Error(`IdpResource '${resource.identifier}' is listed twice`);
    if (resource.scopes.some((scope) => !/^[^\s/]+$/.test(scope) || scope === DEFAULT_PERMISSION)) {
      throw new Error(`IdpResource '${resource.identifier}' has a permission name that is empty, has a space or a slash, or is .default`);
    }
    byIdentifier.set(comparable(resource.identifier), { ...resource, scopes: [...resource.scopes] });
  }
  const guidAliases = new Map<string, IdpResource>();
  for (const resource of byIdentifier.values()) {
    // An app's scopes may be named by its application id instead of its api://{appId} URI.
    const guid = /^api:\/\/([^/]+)$/i.exec(resource.identifier)?.[1];
    if (guid !== undefined && GUID.test(guid)) guidAliases.set(guid.toLowerCase(), resource);
  }
  return {
    resources: [...byIdentifier.values()],
    find: (identifier) => byIdentifier.get(comparable(identifier)) ?? guidAliases.get(comparable(identifier)),
  };
}

/** `https://outlook.office.com/Mail.Read` from a resource identifier and a permission name. */
export function qualifiedScope(resource: string, permission: string): string {
  return `${resource}/${permission}`;
}

function addPermission(request: ScopeRequest, resource: string, permission: string): void {
  const list = request.permissions.get(resource) ?? [];
  if (!list.includes(permission)) list.push(permission);
  request.permissions.set(resource, list);
}

/**
 * Groups the scopes of a request by resource, as Microsoft reads them: a name without a resource is
 * a Graph permission ("if the resource identifier is omitted in the scope parameter, the resource is
 * assumed to be Microsoft Graph", learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc);
 * otherwise the resource is everything before the last slash (so `https://management.azure.com//.default`
 * names `https://management.azure.com/`). Permission names match without regard to case.
 */
export function parseScopes(scope: string, catalogue: ResourceCatalogue): ScopeRequest {
  const request: ScopeRequest = { oidc: [], permissions: new Map(), unknown: [] };
  for (const item of scope.split(/\s+/).filter((value) => value !== '')) {
    if (OIDC_SCOPE_NAMES.has(item.toLowerCase())) {
      if (!request.oidc.includes(item.toLowerCase())) request.oidc.push(item.toLowerCase());
      continue;
    }
    const slash = item.lastIndexOf('/');
    if (slash === -1) {
      addPermission(request, GRAPH_RESOURCE, item);
      continue;
    }
    const prefix = item.slice(0, slash);
    const name = item.slice(slash + 1);
    if (name === '') {
      request.unknown.push(item);
    } else if (comparable(prefix) === GRAPH_RESOURCE || prefix.toLowerCase() === GRAPH_APP_ID) {
      addPermission(request, GRAPH_RESOURCE, name);
    } else {
      const resource = catalogue.find(prefix);
      const permission = name === DEFAULT_PERMISSION ? name : resource?.scopes.find((known) => known.toLowerCase() === name.toLowerCase());
      if (resource === undefined || permission === undefined) request.unknown.push(item);
      else addPermission(request, resource.identifier, permission);
    }
  }
  return request;
}

/**
 * Resolves the `scope` of a token request to one resource: two resources are AADSTS28000, a scope
 * that names no known resource or permission (or `.default` beside explicit permissions, "Clients
 * can't combine static (.default) consent and dynamic consent in a single request",
 * learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc) is AADSTS70011. The texts echo
 * the whole scope string, as Microsoft's do.
 */
export function resolveTokenScope(scope: string, catalogue: ResourceCatalogue): TokenScope {
  const request = parseScopes(scope, catalogue);
  if (request.permissions.size > 1) return { ok: false, error: 'invalid_request', aad: AAD.multipleResources(scope) };
  const [entry] = request.permissions;
  const permissions = entry?.[1] ?? [];
  const wantsDefault = permissions.includes(DEFAULT_PERMISSION);
  if (request.unknown.length > 0 || (wantsDefault && permissions.length > 1)) {
    return { ok: false, error: 'invalid_scope', aad: AAD.scopeNotValid(scope) };
  }
  return { ok: true, resource: entry?.[0], oidc: request.oidc, permissions, wantsDefault };
}

/** The resource oidc-provider should use when a code or refresh token carries several: Graph when among them, as before. */
export function chooseDefaultResource(oneOf?: readonly string[]): string {
  if (oneOf === undefined || oneOf.length === 0 || oneOf.includes(GRAPH_RESOURCE)) return GRAPH_RESOURCE;
  return oneOf[0] ?? GRAPH_RESOURCE;
}

/** The `scp` of an access token: the permission names without the resource prefix (`Mail.Read`), as Microsoft's v1.0 tokens list them. */
export function permissionNames(scope: string | undefined, resource: string): string | undefined {
  if (scope === undefined) return undefined;
  const prefix = `${resource}/`;
  return scope
    .split(' ')
    .map((item) => (item.startsWith(prefix) ? item.slice(prefix.length) : item))
    .join(' ');
}

/** What oidc-provider's getResourceServerInfo returns. */
export interface ResourceServerDescription {
  scope: string;
  audience: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt' | 'opaque';
  jwt?: { sign: { alg: 'RS256' } };
}

/**
 * How tokens for a resource look: v1.0-shaped JWTs whose `aud` is the resource identifier (Graph's
 * is its application id), except that "Microsoft-developed APIs like Microsoft Graph" issue personal
 * accounts opaque tokens (learn.microsoft.com/en-us/entra/identity-platform/access-tokens); an own
 * API (`api://…`) gets JWTs for them too.
 */
export function describeResourceServer(
  resource: string,
  options: { catalogue: ResourceCatalogue; personalAccount: boolean; graphScope: string; accessTokenTtlSeconds: number },
): ResourceServerDescription | undefined {
  const catalogued = resource === GRAPH_RESOURCE ? undefined : options.catalogue.find(resource);
  if (resource !== GRAPH_RESOURCE && catalogued === undefined) return undefined;
  const opaque = options.personalAccount && !resource.toLowerCase().startsWith('api://');
  return {
    scope:
      catalogued === undefined
        ? options.graphScope
        : catalogued.scopes.map((name) => qualifiedScope(catalogued.identifier, name)).join(' '),
    audience: catalogued === undefined ? GRAPH_APP_ID : catalogued.identifier,
    accessTokenTTL: options.accessTokenTtlSeconds,
    ...(opaque ? { accessTokenFormat: 'opaque' } : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
  };
}

/**
 * Rewrites an /authorize query for oidc-provider: Graph's prefix is dropped (its permissions are kept
 * under their short names), another resource's `.default` becomes all of its permissions, and when
 * the scopes name a resource other than Graph, each resource is named as a `resource` parameter
 * ("For the /authorize leg … this parameter can cover multiple resources", v2-oauth2-auth-code-flow).
 */
export function normalizeAuthorizationScopes(query: URLSearchParams, catalogue: ResourceCatalogue): void {
  const scope = query.get('scope');
  if (scope === null) return;
  const request = parseScopes(scope, catalogue);
  const items: string[] = [];
  for (const item of scope.split(' ').filter((value) => value !== '')) {
    const [entry] = parseScopes(item, catalogue).permissions;
    if (entry === undefined) {
      items.push(item);
      continue;
    }
    if (entry[0] === GRAPH_RESOURCE) {
      items.push(item.slice(item.lastIndexOf('/') + 1));
      continue;
    }
    const [resource, [permission = '']] = entry;
    const names = permission === DEFAULT_PERMISSION ? (catalogue.find(resource)?.scopes ?? []) : [permission];
    items.push(...names.map((name) => qualifiedScope(resource, name)));
  }
  query.set('scope', [...new Set(items)].join(' '));
  if ([...request.permissions.keys()].some((resource) => resource !== GRAPH_RESOURCE)) {
    for (const resource of request.permissions.keys()) query.append('resource', resource);
  }
}
