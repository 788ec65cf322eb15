import type { CryptoKey, JWK } from 'jose';
import { AppError } from '../errors.ts';
import { fetchJson } from '../fetch-json.ts';
import type { Logger } from '../log.ts';

/** A verification key from the provider's JWKS, with the `issuer` Microsoft publishes beside it. */
export interface SigningKey {
  readonly key: CryptoKey | Uint8Array;
  /** Microsoft's JWKS names the issuer a key may sign for (`…/{tenantid}/v2.0` or one tenant); undefined if absent. */
  readonly issuer: string | undefined;
}

export interface SigningKeys {
  /**
   * The key with this kid from the jwks_uri. Known keys come from the cache; an unknown kid refetches
   * the set at once, then at most once per cooldown between such refetches, one fetch for all concurrent callers.
   * Throws JWKSNoMatchingKey when the kid is not published, AppError signing_keys_unavailable when no key set can be read.
   */
  keyFor(jwksUri: string, kid: string | undefined): Promise<SigningKey>;
}

/** Keys are refreshed after this long even when every kid is known. */
export const KEY_CACHE_MS = 24 * 60 * 60 * 1000;
/** Between two refetches caused by unknown kids; the first one after any fetch is immediate (emergency rollover). */
export const KEY_REFETCH_COOLDOWN_MS = 60 * 1000;

interface KeySet {
  keys: Map<string, SigningKey>;
  fetchedAt: number;
}

// Not jose's createRemoteJWKSet: it cools down after any fetch (a key rolled just after one is refused, S54), fails instead of keeping stale keys while the endpoint is down (S40), and returns keys without their JWK `issuer` (S14).
/** The discovery jwks_uri's keys, cached, refetched on an unknown kid with a cooldown and a single flight. */
export function createSigningKeys(options: { timeoutMs: number; now: () => number; logger: Logger }): SigningKeys {
  const { timeoutMs, now, logger } = options;
  const cached = new Map<string, KeySet>();
  const lastUnknownKidRefetch = new Map<string, number>();
  const loading = new Map<string, Promise<KeySet>>();

  const load = (jwksUri: string): Promise<KeySet> => {
    let flight = loading.get(jwksUri);
    if (flight === undefined) {
      flight = fetchKeySet(jwksUri, timeoutMs, now, logger)
        .then((keySet) => {
          cached.set(jwksUri, keySet);
          return keySet;
        })
        .finally(() => loading.delete(jwksUri));
      loading.set(jwksUri, flight);
    }
    return flight;
  };

  const refresh = async (jwksUri: string): Promise<KeySet | undefined> => {
    try {
      return await load(jwksUri);
    } catch (error) {
      logger.warn('signing keys could not be fetched', { url: jwksUri, reason: String((error as Error).message).slice(0, 200) });
      return undefined;
    }
  };

  return {
    async keyFor(jwksUri, kid) {
      if (kid === undefined) throw await noMatchingKey('the token header has no kid');
      let keySet = cached.get(jwksUri);
      let fetchedNow = false;
      if (keySet === undefined || now() - keySet.fetchedAt > KEY_CACHE_MS) {
        // A stale set keeps working while the provider's key endpoint is down.
        const loaded = await refresh(jwksUri);
        fetchedNow = loaded !== undefined;
        keySet = loaded ?? keySet;
      }
      if (keySet === undefined) throw keysUnavailable();
      const known = keySet.keys.get(kid);
      if (known !== undefined) return known;

      // Microsoft may publish a key and sign with it at once (emergency rollover): look again now,
      // but an attacker sending unknown kids forces at most one refetch per cooldown.
      const sinceLastRefetch = now() - (lastUnknownKidRefetch.get(jwksUri) ?? Number.NEGATIVE_INFINITY);
      if (!fetchedNow && (loading.has(jwksUri) || sinceLastRefetch >= KEY_REFETCH_COOLDOWN_MS)) {
        if (!loading.has(jwksUri)) lastUnknownKidRefetch.set(jwksUri, now());
        const fresh = await refresh(jwksUri);
        if (fresh === undefined) throw keysUnavailable();
        const rolled = fresh.keys.get(kid);
        if (rolled !== undefined) return rolled;
      }
      throw await noMatchingKey('no published key has this kid');
    },
  };
}

/**
 * jose's error for a kid the key set does not hold (what jwtVerify's callers expect from a key lookup). jose is loaded
 * here only when a key is missing: a known key needs none of it, and a dynamic import() resolves again on every call.
 */
async function noMatchingKey(message: string): Promise<Error> {
  const { errors } = await import('jose');
  return new errors.JWKSNoMatchingKey(message);
}

async function fetchKeySet(jwksUri: string, timeoutMs: number, now: () => number, logger: Logger): Promise<KeySet> {
  const document = await fetchJson(jwksUri, { timeoutMs });
  const entries = (document as { keys?: unknown })?.keys;
  if (!Array.isArray(entries)) throw new Error('the key set has no keys array');
  const keys = new Map<string, SigningKey>();
  for (const entry of entries) {
    const signingKey = await importSigningKey(entry);
    if (signingKey === undefined) {
      logger.warn('ignored an unusable key in the key set', { url: jwksUri });
      continue;
    }
    keys.set(signingKey.kid, signingKey.key);
  }
  if (keys.size === 0) throw new Error('the key set has no usable RS256 key');
  return { keys, fetchedAt: now() };
}

/** An RSA signature key with a kid, or undefined for anything else (other types, garbage). */
async function importSigningKey(entry: unknown): Promise<{ kid: string; key: SigningKey } | undefined> {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const jwk = entry as JWK & { issuer?: unknown };
  if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.alg !== undefined && jwk.alg !== 'RS256') return undefined;
  try {
    const { importJWK } = await import('jose');
    const key = await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256');
    return { kid: jwk.kid, key: { key, issuer: typeof jwk.issuer === 'string' ? jwk.issuer : undefined } };
  } catch {
    return undefined;
  }
}

function keysUnavailable(): AppError {
  return new AppError('signing_keys_unavailable');
}
