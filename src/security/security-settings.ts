import net from 'node:net';
import { isTenantId } from '../config.ts';

/** The settings issue 3 adds: key rotation, the proxy in front, the tenant allow-list and the sign-in rate limit. */
export interface SecuritySettings {
  /** Older TOKEN_ENCRYPTION_KEY values: accepted for decryption only, so keys can rotate. */
  readonly previousTokenEncryptionKeys: readonly Buffer[];
  /** Express's `trust proxy`: false, a hop count, or loopback/linklocal/uniquelocal/addresses. */
  readonly trustProxy: false | number | string;
  /** Tenant GUIDs (lower case) allowed to sign in; undefined allows every tenant the authority accepts. */
  readonly allowedTenants: readonly string[] | undefined;
  /** Requests per minute per client address to /connect and to the callback. */
  readonly signInRateLimit: number;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** 32 bytes of base64 (or base64url), or undefined. */
export function decodeBase64Key(value: string): Buffer | undefined {
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  return key.length === 32 ? key : undefined;
}

/**
 * Reads TOKEN_ENCRYPTION_KEYS_PREVIOUS, TRUST_PROXY, O365_ALLOWED_TENANTS and SIGN_IN_RATE_LIMIT;
 * each problem is pushed as one line that says how to fix it.
 */
export function parseSecuritySettings(read: (name: string) => string | undefined, problems: string[], warnings: string[], baseUrl: string | undefined): SecuritySettings {
  const previousTokenEncryptionKeys: Buffer[] = [];
  for (const [index, value] of (read('TOKEN_ENCRYPTION_KEYS_PREVIOUS') ?? '').split(',').map((item) => item.trim()).filter(Boolean).entries()) {
    const key = decodeBase64Key(value);
    if (key === undefined) {
      problems.push(`TOKEN_ENCRYPTION_KEYS_PREVIOUS entry ${index + 1} is not 32 bytes in base64: list the old TOKEN_ENCRYPTION_KEY values, separated by commas.`);
    } else {
      previousTokenEncryptionKeys.push(key);
    }
  }

  const trustProxy = parseTrustProxy(read('TRUST_PROXY'), problems);
  if (trustProxy === false && baseUrl?.startsWith('https:')) {
    warnings.push('BASE_URL is https but TRUST_PROXY is not set: the session cookie is Secure, so behind a TLS proxy set TRUST_PROXY (e.g. 1 or loopback) or nobody can sign in.');
  }

  let allowedTenants: string[] | undefined;
  const tenants = read('O365_ALLOWED_TENANTS');
  if (tenants !== undefined) {
    allowedTenants = tenants.split(',').map((item) => item.trim()).filter(Boolean);
    const bad = allowedTenants.find((tenant) => !isTenantId(tenant));
    if (bad !== undefined || allowedTenants.length === 0) {
      problems.push(`O365_ALLOWED_TENANTS "${tenants}" is not valid: list tenant IDs (GUIDs, Microsoft Entra admin center › Overview › Tenant ID), separated by commas.`);
    }
    allowedTenants = allowedTenants.map((tenant) => tenant.toLowerCase());
  }

  const limit = read('SIGN_IN_RATE_LIMIT') ?? '60';
  const signInRateLimit = /^\d+$/.test(limit) ? Number(limit) : Number.NaN;
  if (!Number.isSafeInteger(signInRateLimit) || signInRateLimit < 1 || signInRateLimit > 1_000_000) {
    problems.push(`SIGN_IN_RATE_LIMIT "${limit}" is not valid: use the number of sign-in requests allowed per minute from one address (default 60).`);
  }

  return { previousTokenEncryptionKeys, trustProxy, allowedTenants, signInRateLimit };
}

function parseTrustProxy(value: string | undefined, problems: string[]): false | number | string {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value) && Number(value) <= 10) return Number(value);
  const entries = value.split(',').map((item) => item.trim());
  const valid = entries.every((entry) => {
    if (PROXY_NAMES.has(entry)) return true;
    const [address = '', prefix, ...rest] = entry.split('/');
    const version = net.isIP(address);
    if (version === 0 || rest.length > 0) return false;
    return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
  });
  if (!valid) {
    // "true" would trust any client's X-Forwarded-For, which defeats the rate limit.
    problems.push(`TRUST_PROXY "${value}" is not valid: use the number of proxies in front of the app (e.g. 1), loopback, or the proxies' addresses (e.g. 10.0.0.0/8), separated by commas.`);
    return false;
  }
  return entries.join(',');
}
