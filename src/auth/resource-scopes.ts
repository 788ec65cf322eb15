// Which resource a list of scopes names. No imports: `npm run token` parses its --scope before anything else loads.

/** Microsoft Graph: a scope without a resource is Graph's (learn.microsoft.com/entra/identity-platform/scopes-oidc). */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
/** Graph's application id, which Microsoft also accepts as its resource identifier. */
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** OpenID Connect scopes: hosted on Graph but never a resource of their own; allowed beside any one resource. */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];
const OIDC = new Set(OIDC_SCOPES);

/** What the scope parameter may hold (RFC 6749 §3.3: printable ASCII except space, `"` and `\`). */
const SCOPE_CHARACTERS = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const MAX_SCOPES = 50;
const MAX_SCOPE_LENGTH = 512;
const DEFAULT_PERMISSION = '.default';

/** The scopes of one resource, ready to send and to key a cache with. */
export interface ResourceScopes {
  /** The resource, normalised: lower case, no trailing slash (`https://management.azure.com`, `api://…`, a GUID, Graph). */
  readonly resource: string;
  /** The scopes to send, as written (resource-qualified or Graph short names), without OIDC scopes or duplicates. */
  readonly scopes: readonly string[];
  /** The resource and its permissions, normalised (case, order, trailing slash): one scope set, one cached token. */
  readonly key: string;
}

/** Why a scope list cannot be sent: each is refused before any request, as Microsoft would refuse it. */
export type ScopeProblem =
  /** Nothing but OIDC scopes (or nothing): no resource to issue a token for. */
  | { readonly problem: 'no_resource' }
  /** Not a scope Microsoft accepts: `https://host/Perm`, `api://…/Perm`, `{guid}/Perm` or a Graph name (AADSTS70011). */
  | { readonly problem: 'invalid_scope'; readonly scope: string }
  /** More than MAX_SCOPES scopes, or one longer than MAX_SCOPE_LENGTH. */
  | { readonly problem: 'too_long' }
  /** Scopes of two or more resources in one request (AADSTS28000). */
  | { readonly problem: 'several_resources'; readonly resources: readonly string[] }
  /** `.default` beside named permissions of the same resource (static and dynamic consent together: AADSTS70011). */
  | { readonly problem: 'default_with_others'; readonly resource: string };

export type ScopeParse = { readonly ok: true; readonly value: ResourceScopes } | ({ readonly ok: false } & ScopeProblem);

interface ParsedScope {
  readonly resource: string;
  readonly permission: string;
}

/**
 * Splits a scope list (a string separated by spaces, or a list) into its one resource and that resource's scopes.
 * Graph short names (`User.Read`) are Graph's; `https://host[/path]/Perm`, `api://…/Perm` and `{guid}/Perm` name the
 * resource before the last slash (so ARM's documented `https://management.azure.com//.default` is ARM); OIDC scopes are
 * set aside. Two resources, or `.default` beside named permissions of its resource, are refused: Microsoft issues a
 * token for one resource per request.
 */
export function parseResourceScopes(input: string | readonly string[]): ScopeParse {
  const written = (typeof input === 'string' ? input.split(/\s+/) : input.flatMap((scope) => scope.split(/\s+/))).filter(Boolean);
  if (written.length > MAX_SCOPES || written.some((scope) => scope.length > MAX_SCOPE_LENGTH)) return { ok: false, problem: 'too_long' };
  const scopes: string[] = [];
  const parsed: ParsedScope[] = [];
  for (const scope of written) {
    if (OIDC.has(scope.toLowerCase())) continue;
    const one = parseScope(scope);
    if (one === undefined) return { ok: false, problem: 'invalid_scope', scope };
    if (parsed.some((seen) => seen.resource === one.resource && seen.permission === one.permission)) continue;
    parsed.push(one);
    scopes.push(scope);
  }
  const resources = [...new Set(parsed.map((scope) => scope.resource))];
  const [resource] = resources;
  if (resource === undefined) return { ok: false, problem: 'no_resource' };
  if (resources.length > 1) return { ok: false, problem: 'several_resources', resources };
  const permissions = parsed.map((scope) => scope.permission).sort();
  if (permissions.includes(DEFAULT_PERMISSION) && permissions.length > 1) return { ok: false, problem: 'default_with_others', resource };
  return { ok: true, value: { resource, scopes, key: `${resource} ${permissions.join(' ')}` } };
}

/** `--resource <uri>`: the resource's `.default` scope, written as the Azure CLI writes it (`uri + "/.default"`). */
export function defaultScopeOf(resourceUri: string): string {
  return `${resourceUri}/${DEFAULT_PERMISSION}`;
}

/** A resource URI as `--resource` and the page's `resource` field take it: an absolute URI or an application id. */
const RESOURCE_URI = /^(?:[a-z][a-z0-9+.-]*:\/\/[\x21\x23-\x5b\x5d-\x7e]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * What the page's form or the CLI asks for: `scope` (the scopes of one resource), or `resource` (a resource URI, for
 * its `.default`). One parser for the page, the CLI and the token service, so a list is refused before any request.
 */
export function requestedScopesOf(scope: string | undefined, resource: string | undefined): ScopeParse {
  if (scope === undefined && resource !== undefined) {
    if (!RESOURCE_URI.test(resource)) return { ok: false, problem: 'invalid_scope', scope: resource };
    return parseResourceScopes(defaultScopeOf(resource));
  }
  return parseResourceScopes(scope ?? '');
}

/** One scope's resource (normalised) and permission (lower case), or undefined when Microsoft would not accept it. */
function parseScope(scope: string): ParsedScope | undefined {
  if (!SCOPE_CHARACTERS.test(scope)) return undefined;
  const scheme = SCHEME.exec(scope);
  const slash = scope.lastIndexOf('/');
  if (scheme === null && slash === -1) return { resource: GRAPH_RESOURCE, permission: scope.toLowerCase() };
  const resource = scope.slice(0, slash);
  const permission = scope.slice(slash + 1).toLowerCase();
  if (permission === '') return undefined;
  // A URI needs a host before the permission; anything else before a slash must be an application id (a GUID).
  if (scheme !== null ? slash <= scheme[0].length || resource.slice(scheme[0].length).startsWith('/') : !GUID.test(resource)) {
    return undefined;
  }
  return { resource: normaliseResource(resource), permission };
}

/** Lower case without trailing slashes; Graph's application id is Graph. */
function normaliseResource(resource: string): string {
  const normalised = resource.toLowerCase().replace(/\/+$/, '');
  return normalised === GRAPH_APP_ID ? GRAPH_RESOURCE : normalised;
}
