// Development only: the key set (JWKS) the local provider publishes, and the key-set and discovery faults.
import { SignJWT, decodeJwt, exportJWK } from 'jose';
import type { JWK } from 'jose';

import { TENANT_ID } from './accounts.ts';
import { OTHER_TENANT_ID } from './faults.ts';
import type { FaultResponse } from './faults.ts';
import type { SigningKey } from './keys.ts';
import type { IdpFault } from './types.ts';

/** The keys behind the key-set faults. */
export interface KeyRing {
  origin: string;
  /** The key oidc-provider signs with and the JWKS publishes. */
  publishedKey: SigningKey;
  /** Published instead of the first key once the keys have rolled. */
  rolledKey: SigningKey;
  /** Published with an issuer naming another tenant. */
  otherTenantKey: SigningKey;
  /** Published with an issuer naming the home tenant. */
  homeTenantKey: SigningKey;
  /** Published without an issuer. */
  noIssuerKey: SigningKey;
  /** Published for encryption (use enc), yet used to sign. */
  encryptionKey: SigningKey;
  /** Published for another algorithm (alg RS512), yet used to sign RS256. */
  otherAlgorithmKey: SigningKey;
}

/** The marker for "never answer". */
export const HANG = 'hang';

async function publicJwk(
  key: SigningKey,
  issuer: string | undefined,
  attributes: JWK = { use: 'sig' },
): Promise<JWK & { issuer?: string }> {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, kty: 'RSA', ...attributes, ...(issuer === undefined ? {} : { issuer }) };
}

/** The JWKS response for the active faults: Microsoft's shape, each key with the issuer it may sign for. */
export async function keySetResponse(faults: readonly IdpFault[], ring: KeyRing): Promise<FaultResponse | typeof HANG> {
  const json = (status: number, body: unknown): FaultResponse => ({
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body),
  });
  if (faults.includes('keys-hang')) return HANG;
  if (faults.includes('keys-error')) return json(500, { error: 'server_error' });
  if (faults.includes('keys-empty')) return json(200, { keys: [] });
  const template = `${ring.origin}/{tenantid}/v2.0`;
  const keys: unknown[] = [await publicJwk(faults.includes('keys-rolled') ? ring.rolledKey : ring.publishedKey, template)];
  if (faults.includes('keys-fixed-tenant-issuer'))
    keys.push(await publicJwk(ring.otherTenantKey, `${ring.origin}/${OTHER_TENANT_ID}/v2.0`));
  if (faults.includes('keys-home-tenant-issuer')) keys.push(await publicJwk(ring.homeTenantKey, `${ring.origin}/${TENANT_ID}/v2.0`));
  if (faults.includes('keys-no-issuer')) keys.push(await publicJwk(ring.noIssuerKey, undefined));
  if (faults.includes('keys-encryption-key')) keys.push(await publicJwk(ring.encryptionKey, template, { use: 'enc' }));
  if (faults.includes('keys-other-alg-key')) keys.push(await publicJwk(ring.otherAlgorithmKey, template, { use: 'sig', alg: 'RS512' }));
  if (faults.includes('keys-garbage-beside-good')) {
    keys.unshift(
      'not a key',
      { kty: 'RSA', kid: 'garbage', n: '!!!', e: 'AQAB' },
      { kty: 'EC', kid: 'ec-key', crv: 'P-256', x: 'x', y: 'y' },
      { kty: 'RSA', kid: 'encryption-key', use: 'enc', n: 'AQAB', e: 'AQAB' },
    );
  }
  return json(200, { keys });
}

/** Re-signs a genuine id_token with the key a key-set fault calls for; otherwise returns it unchanged. */
export async function resignForKeyFault(faults: readonly IdpFault[], idToken: string, ring: KeyRing): Promise<string> {
  const key = faults.includes('keys-rolled')
    ? ring.rolledKey
    : faults.includes('keys-fixed-tenant-issuer')
      ? ring.otherTenantKey
      : faults.includes('keys-home-tenant-issuer')
        ? ring.homeTenantKey
        : faults.includes('keys-no-issuer')
          ? ring.noIssuerKey
          : faults.includes('keys-encryption-key')
            ? ring.encryptionKey
            : faults.includes('keys-other-alg-key')
              ? ring.otherAlgorithmKey
              : undefined;
  if (key === undefined) return idToken;
  return new SignJWT(decodeJwt(idToken)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

/** The discovery document of a tenant segment as a discovery fault changes it, or the response that replaces it. */
export function discoveryFault(
  faults: readonly IdpFault[],
  document: Record<string, unknown>,
  origin: string,
  segment: string,
): Record<string, unknown> | FaultResponse | typeof HANG {
  if (faults.includes('discovery-hang')) return HANG;
  if (faults.includes('discovery-error'))
    return { status: 500, contentType: 'application/json; charset=utf-8', body: '{"error":"server_error"}' };
  if (faults.includes('discovery-other-tenant-issuer')) return { ...document, issuer: `${origin}/${OTHER_TENANT_ID}/v2.0` };
  if (faults.includes('discovery-foreign-endpoints'))
    return { ...document, token_endpoint: 'https://evil.example/common/oauth2/v2.0/token' };
  if (faults.includes('discovery-tenant-segment-issuer')) return { ...document, issuer: `${origin}/${segment}/v2.0` };
  if (faults.includes('discovery-issuer-without-v2')) return { ...document, issuer: String(document.issuer).replace(/\/v2\.0$/, '/') };
  return document;
}
