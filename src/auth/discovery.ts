import type { Config } from '../config.ts';
import { isTenantId } from '../config.ts';
import { AppError, isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { fetchJson } from '../fetch-json.ts';

/** The endpoints the app uses, from `${authority}/${tenant}/v2.0/.well-known/openid-configuration`. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly endSessionEndpoint: string | undefined;
}

export interface Discovery {
  /** The provider's metadata, fetched once and cached; a failed fetch is retried on the next call. */
  getMetadata(): Promise<ProviderMetadata>;
}

const CACHE_MS = 24 * 60 * 60 * 1000;

/** The discovery URL for the configured authority and tenant. */
export function discoveryUrl(config: Pick<Config, 'authorityHost' | 'tenant'>): string {
  return `${config.authorityHost}/${encodeURIComponent(config.tenant)}/v2.0/.well-known/openid-configuration`;
}

export function createDiscovery(config: Config, logger: Logger, now: () => number = Date.now): Discovery {
  let cached: { metadata: ProviderMetadata; fetchedAt: number } | undefined;
  let loading: Promise<ProviderMetadata> | undefined;

  const load = async (): Promise<ProviderMetadata> => {
    let document: unknown;
    try {
      document = await fetchJson(discoveryUrl(config), { timeoutMs: config.httpTimeoutMs });
    } catch (error) {
      logger.warn('discovery failed', { url: discoveryUrl(config), reason: String((error as Error).message) });
      throw new AppError('discovery_unavailable', { cause: error });
    }
    const metadata = readMetadata(document, config);
    cached = { metadata, fetchedAt: now() };
    return metadata;
  };

  return {
    async getMetadata() {
      if (cached && now() - cached.fetchedAt < CACHE_MS) return cached.metadata;
      loading ??= load().finally(() => {
        loading = undefined;
      });
      // A stale document keeps sign-ins working while discovery is down; a mismatch never does.
      if (cached === undefined) return loading;
      const stale = cached.metadata;
      return loading.catch((error: unknown) => {
        if (isAppError(error, 'discovery_mismatch')) throw error;
        return stale;
      });
    },
  };
}

/**
 * Checks the discovery document against the configuration: endpoints on the authority's own origin,
 * and an issuer of the form `${authority}/{tenantid}/v2.0` (or the configured tenant's GUID).
 * Throws `discovery_mismatch`, whose message names the problem: the app must not run against such a document.
 */
export function readMetadata(document: unknown, config: Pick<Config, 'authorityHost' | 'tenant'>): ProviderMetadata {
  if (typeof document !== 'object' || document === null) {
    throw mismatch(`The discovery document at ${discoveryUrl(config)} is not a JSON object.`);
  }
  const fields = document as Record<string, unknown>;
  const readOptionalEndpoint = (name: string): string | undefined => (fields[name] === undefined ? undefined : readEndpoint(name));
  const readEndpoint = (name: string): string => {
    const value = fields[name];
    if (typeof value !== 'string' || !URL.canParse(value)) {
      throw mismatch(`The discovery document has no valid '${name}'.`);
    }
    if (!sameAuthority(new URL(value).origin, config.authorityHost)) {
      throw mismatch(`The discovery document's '${name}' (${value}) is not on ${config.authorityHost}: check O365_AUTHORITY_HOST.`);
    }
    return value;
  };
  const issuer = readEndpoint('issuer');
  const issuerPattern = new RegExp(`^${escapeRegExp(new URL(issuer).origin)}/([^/]+)/v2\\.0$`);
  const issuerTenant = issuer.match(issuerPattern)?.[1];
  if (issuerTenant === undefined || (issuerTenant !== '{tenantid}' && !isTenantId(issuerTenant))) {
    throw mismatch(`The discovery issuer ${issuer} is not a Microsoft v2.0 issuer on ${config.authorityHost}.`);
  }
  if (isTenantId(config.tenant) && issuerTenant.toLowerCase() !== config.tenant.toLowerCase()) {
    throw mismatch(`The discovery issuer ${issuer} names another tenant than O365_TENANT ${config.tenant}.`);
  }
  return Object.freeze({
    issuer,
    authorizationEndpoint: readEndpoint('authorization_endpoint'),
    tokenEndpoint: readEndpoint('token_endpoint'),
    jwksUri: readEndpoint('jwks_uri'),
    endSessionEndpoint: readOptionalEndpoint('end_session_endpoint'),
  });
}

// Microsoft's documented host aliases of one cloud: Azure China's discovery at login.chinacloudapi.cn
// lists its endpoints on login.partner.microsoftonline.cn. Nothing else counts as the same authority.
const AUTHORITY_ALIASES: readonly (readonly string[])[] = [['https://login.chinacloudapi.cn', 'https://login.partner.microsoftonline.cn']];

/** True when an endpoint's origin is the configured authority or a documented alias of it. */
export function sameAuthority(origin: string, authorityHost: string): boolean {
  return origin === authorityHost || AUTHORITY_ALIASES.some((aliases) => aliases.includes(origin) && aliases.includes(authorityHost));
}

function mismatch(problem: string): AppError {
  return new AppError('discovery_mismatch', { values: { problem } });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
