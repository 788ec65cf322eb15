import crypto from 'node:crypto';
import { checkDatabaseUrl, DEFAULT_DATABASE_URL } from './db/database-url.ts';
import { decodeBase64Key, parseSecuritySettings } from './security/security-settings.ts';
import type { SecuritySettings } from './security/security-settings.ts';

/** The app's settings, parsed once from the environment. Nothing else reads process.env. */
export interface Config extends SecuritySettings {
  readonly appId: string;
  readonly appKey: string;
  readonly tenant: string;
  readonly authorityHost: string;
  readonly scopes: readonly string[];
  readonly baseUrl: string;
  /** Always `${baseUrl}/connect/get_token`: never derived from request headers. */
  readonly redirectUri: string;
  readonly host: string;
  readonly port: number;
  /** `file:` → SQLite; `postgresql://` or `postgres://` → PostgreSQL. */
  readonly databaseUrl: string;
  /** Apply pending migrations when the server starts (MIGRATE_ON_START, default true). */
  readonly migrateOnStart: boolean;
  readonly sessionSecret: string;
  readonly tokenEncryptionKey: Buffer;
  readonly graphBaseUrl: string;
  readonly httpTimeoutMs: number;
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  readonly production: boolean;
  /** The label in every page's footer: INSTANCE_NAME, or a random id per process; never a host name or address. */
  readonly instanceName: string;
}

export type ConfigResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; problems: string[] };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const TENANT_ALIASES = new Set(['common', 'organizations', 'consumers']);
const INSTANCE_NAME = /^[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]{0,30}[A-Za-z0-9._-])?$/;
const ENTRA_APP = 'Microsoft Entra admin center › App registrations';

/** True when people open the app over https: Secure and __Host- cookies, HSTS. */
export function servesHttps(config: Pick<Config, 'baseUrl'>): boolean {
  return config.baseUrl.startsWith('https:');
}

/** True for a tenant GUID such as the `tid` claim carries. */
export function isTenantId(value: string): boolean {
  return GUID.test(value);
}

/**
 * Reads the settings named in DESIGN.md. Every problem is reported at once, one line each,
 * with what to do about it; defaults fill what is optional.
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const production = read('NODE_ENV') === 'production';

  const appId = read('O365_APP_ID');
  if (appId === undefined) {
    problems.push(`O365_APP_ID is missing: copy the Application (client) ID from ${ENTRA_APP} › your app › Overview.`);
  } else if (!isTenantId(appId)) {
    problems.push(`O365_APP_ID "${appId}" is not a GUID: use the Application (client) ID from ${ENTRA_APP} › your app › Overview, not its name or object ID.`);
  }

  const appKey = read('O365_APP_KEY');
  if (appKey === undefined) {
    problems.push(`O365_APP_KEY is missing: create a client secret in ${ENTRA_APP} › your app › Certificates & secrets and copy its Value (not its Secret ID).`);
  } else if (isTenantId(appKey)) {
    problems.push(`O365_APP_KEY looks like a Secret ID: copy the secret's Value from ${ENTRA_APP} › your app › Certificates & secrets.`);
  }

  const tenant = read('O365_TENANT') ?? 'common';
  if (!TENANT_ALIASES.has(tenant.toLowerCase()) && !isTenantId(tenant) && !DOMAIN.test(tenant)) {
    problems.push(`O365_TENANT "${tenant}" is not valid: use common, organizations, consumers, a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com.`);
  }

  const authorityHost = parseOrigin(read('O365_AUTHORITY_HOST') ?? 'https://login.microsoftonline.com', 'O365_AUTHORITY_HOST', problems,
    'use https://login.microsoftonline.com, a national cloud such as https://login.microsoftonline.us, or http://127.0.0.1:<port> for the local provider');

  const scopes = (read('O365_SCOPES') ?? 'openid profile offline_access User.Read').split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) {
    problems.push('O365_SCOPES must include openid: the app needs the ID token to know who signed in (default: "openid profile offline_access User.Read").');
  }
  const badScope = scopes.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
  if (badScope !== undefined) {
    problems.push(`O365_SCOPES has an invalid scope "${badScope}": separate scopes with spaces, e.g. "openid profile offline_access User.Read".`);
  }

  const baseUrl = parseBaseUrl(read('BASE_URL') ?? 'http://127.0.0.1:5000', problems);

  const port = parseInteger(read('PORT') ?? '5000', 'PORT', 0, 65535, problems, 'use a port number such as 5000');
  const host = read('HOST') ?? '127.0.0.1';

  const databaseUrl = read('DATABASE_URL') ?? DEFAULT_DATABASE_URL;
  const databaseProblem = checkDatabaseUrl(databaseUrl);
  if (databaseProblem !== undefined) problems.push(databaseProblem);
  const migrateOnStart = parseBoolean(read('MIGRATE_ON_START') ?? 'true', 'MIGRATE_ON_START', problems,
    'use true (apply pending migrations at start, the default) or false (run `npm run migrate` as a release step)');

  let sessionSecret = read('SESSION_SECRET');
  if (sessionSecret === undefined) {
    if (production) {
      problems.push('SESSION_SECRET is missing: set it to a long random string, e.g. the output of `openssl rand -base64 32`.');
    } else {
      warnings.push('SESSION_SECRET is not set: using a random one, so sessions end when the app restarts. Set it in .env.');
    }
    sessionSecret = crypto.randomBytes(32).toString('base64url');
  } else if (sessionSecret.length < 32) {
    problems.push('SESSION_SECRET is too short: use at least 32 characters, e.g. the output of `openssl rand -base64 32`.');
  }

  let tokenEncryptionKey = decodeKey(read('TOKEN_ENCRYPTION_KEY'), problems);
  if (tokenEncryptionKey === undefined) {
    if (production) {
      problems.push('TOKEN_ENCRYPTION_KEY is missing: set it to 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`.');
    } else {
      warnings.push('TOKEN_ENCRYPTION_KEY is not set: using a random one, so stored tokens cannot be read after a restart. Set it in .env.');
    }
    tokenEncryptionKey = crypto.randomBytes(32);
  }

  const graphBaseUrl = parseOrigin(read('GRAPH_BASE_URL') ?? 'https://graph.microsoft.com', 'GRAPH_BASE_URL', problems,
    'use https://graph.microsoft.com (or the national cloud\'s Graph)');

  const httpTimeoutMs = parseInteger(read('O365_HTTP_TIMEOUT_MS') ?? '10000', 'O365_HTTP_TIMEOUT_MS', 100, 120000, problems,
    'use milliseconds between 100 and 120000 (default 10000)');
  const sessionIdleMinutes = parseInteger(read('SESSION_IDLE_MINUTES') ?? '30', 'SESSION_IDLE_MINUTES', 1, 24 * 60, problems,
    'use minutes between 1 and 1440 (default 30)');
  const sessionMaxHours = parseInteger(read('SESSION_MAX_HOURS') ?? '12', 'SESSION_MAX_HOURS', 1, 24 * 30, problems,
    'use hours between 1 and 720 (default 12)');
  const security = parseSecuritySettings(read, problems, warnings, baseUrl);
  const instanceName = read('INSTANCE_NAME') ?? crypto.randomBytes(3).toString('hex');
  if (!INSTANCE_NAME.test(instanceName)) {
    problems.push(`INSTANCE_NAME "${instanceName.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}" is not valid: use up to 32 letters, digits, spaces, dots, dashes or underscores (e.g. web-1), or leave it empty for a random id.`);
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    warnings,
    config: Object.freeze({
      appId: appId!,
      appKey: appKey!,
      tenant,
      authorityHost: authorityHost!,
      scopes: Object.freeze(scopes),
      baseUrl: baseUrl!,
      redirectUri: `${baseUrl}/connect/get_token`,
      host,
      port: port!,
      databaseUrl,
      migrateOnStart: migrateOnStart!,
      sessionSecret,
      tokenEncryptionKey,
      graphBaseUrl: graphBaseUrl!,
      httpTimeoutMs: httpTimeoutMs!,
      sessionIdleMinutes: sessionIdleMinutes!,
      sessionMaxHours: sessionMaxHours!,
      production,
      instanceName,
      ...security,
    }),
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function parseOrigin(value: string, name: string, problems: string[], fix: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} "${value}" is not a URL: ${fix}.`);
    return undefined;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    problems.push(`${name} "${value}" must use https (plain http only on 127.0.0.1 or localhost): ${fix}.`);
    return undefined;
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    problems.push(`${name} "${value}" must be only scheme, host and port, without a path: ${fix}.`);
    return undefined;
  }
  return url.origin;
}

function parseBaseUrl(value: string, problems: string[]): string | undefined {
  const fix = 'use the address people open, such as http://127.0.0.1:5000 or https://signin.example.com, without a trailing path';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`BASE_URL "${value}" is not a URL: ${fix}.`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`BASE_URL "${value}" must start with http:// or https://: ${fix}.`);
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    // Microsoft accepts http redirect URIs only for localhost; anything else must be https.
    problems.push(`BASE_URL "${value}" must use https unless it is 127.0.0.1 or localhost (Microsoft refuses other http redirect URIs).`);
    return undefined;
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    problems.push(`BASE_URL "${value}" must not have a path, query or credentials: ${fix}.`);
    return undefined;
  }
  return url.origin;
}

function parseInteger(value: string, name: string, min: number, max: number, problems: string[], fix: string): number | undefined {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    problems.push(`${name} "${value}" is not valid: ${fix}.`);
    return undefined;
  }
  return number;
}

function decodeKey(value: string | undefined, problems: string[]): Buffer | undefined {
  if (value === undefined) return undefined;
  const key = decodeBase64Key(value);
  if (key === undefined) {
    problems.push('TOKEN_ENCRYPTION_KEY must be 32 random bytes in base64 (44 characters): generate one with `openssl rand -base64 32`.');
    return undefined;
  }
  return key;
}

function parseBoolean(value: string, name: string, problems: string[], fix: string): boolean | undefined {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  problems.push(`${name} "${value}" is not valid: ${fix}.`);
  return undefined;
}
