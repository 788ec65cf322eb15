import crypto from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { Config } from '../config.ts';
import { isTenantId } from '../config.ts';
import { AppError, tenantNotAllowed } from '../errors.ts';
import type { ProviderMetadata } from './discovery.ts';
import type { SigningKey, SigningKeys } from './signing-keys.ts';

/** Who signed in, from a verified ID token. The stable key is (tenantId, objectId). */
export interface VerifiedIdentity {
  readonly tenantId: string;
  readonly objectId: string;
  readonly subject: string;
  readonly displayName: string;
  readonly username: string;
}

export interface IdTokenVerifier {
  /**
   * Verifies signature and claims as OpenID Connect Core §3.1.3.7 and Microsoft require.
   * `expectedNonce` is required at sign-in; a refreshed ID token (§12.2) is checked without it.
   */
  verify(idToken: string, checks: { metadata: ProviderMetadata; expectedNonce: string | undefined }): Promise<VerifiedIdentity>;
}

/** Allowed clock difference between this machine and Microsoft. */
export const CLOCK_SKEW_SECONDS = 300;
/** An ID token issued longer ago than this is not fresh from this sign-in. */
const MAX_TOKEN_AGE_SECONDS = 3600;

// jose reports these when the token itself is bad; anything else (network, HTTP) means the keys could not be read.
const TOKEN_FAULTS = new Set([
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWT_EXPIRED', 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_JWS_INVALID', 'ERR_JWT_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED',
]);

/**
 * The issuer an ID token must carry: the discovery issuer, with Microsoft's `{tenantid}` template
 * (common, organizations) filled in from the token's own `tid`.
 */
export function expectedIssuer(discoveryIssuer: string, tenantId: string): string | undefined {
  if (!isTenantId(tenantId)) return undefined;
  return discoveryIssuer.replace('{tenantid}', tenantId.toLowerCase());
}

/** Checks ID tokens against the keys of the discovery jwks_uri (see signing-keys.ts) and the configuration. */
export function createIdTokenVerifier(config: Config, signingKeys: SigningKeys): IdTokenVerifier {
  return {
    async verify(idToken, { metadata, expectedNonce }) {
      // Loaded by the first sign-in rather than at start, which does not need it.
      const { decodeProtectedHeader, errors: joseErrors, jwtVerify } = await import('jose');
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(idToken);
      } catch (error) {
        throw invalidIdToken('the ID token is not a JWS', error);
      }
      // Keys must come from the discovery jwks_uri only, never from the token.
      if (header.jku !== undefined || header.x5u !== undefined || header.jwk !== undefined) {
        throw invalidIdToken('the ID token header names its own key');
      }

      let claims: JWTPayload;
      let signingKey: SigningKey | undefined;
      try {
        ({ payload: claims } = await jwtVerify(idToken, async (protectedHeader) => {
          signingKey = await signingKeys.keyFor(metadata.jwksUri, protectedHeader.kid);
          return signingKey.key;
        }, {
          algorithms: ['RS256'],
          audience: config.appId,
          clockTolerance: CLOCK_SKEW_SECONDS,
          maxTokenAge: MAX_TOKEN_AGE_SECONDS,
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'tid', 'oid', ...(expectedNonce === undefined ? [] : ['nonce'])],
        }));
      } catch (error) {
        if (error instanceof joseErrors.JOSEError && TOKEN_FAULTS.has(error.code)) {
          throw invalidIdToken(error.message, error);
        }
        if (error instanceof AppError) throw error;
        throw new AppError('signing_keys_unavailable', { cause: error });
      }

      if (Array.isArray(claims.aud) && claims.aud.length !== 1) throw invalidIdToken('the ID token has more than one audience');
      if (claims.azp !== undefined && claims.azp !== config.appId) throw invalidIdToken('the ID token azp is another client');
      if (expectedNonce !== undefined && (typeof claims.nonce !== 'string' || !safeEqual(claims.nonce, expectedNonce))) {
        throw invalidIdToken('the ID token nonce differs');
      }
      const tenantId = stringClaim(claims, 'tid');
      const issuer = expectedIssuer(metadata.issuer, tenantId);
      if (issuer === undefined || claims.iss !== issuer) throw invalidIdToken('the ID token issuer is not the expected one');
      // Microsoft's key sets name the issuer each key may sign for: a tenant's own key must not vouch for another tenant.
      if (signingKey?.issuer !== undefined && expectedIssuer(signingKey.issuer, tenantId) !== claims.iss) {
        throw invalidIdToken('the signing key belongs to another issuer');
      }
      if (config.allowedTenants !== undefined && !config.allowedTenants.includes(tenantId.toLowerCase())) throw tenantNotAllowed(tenantId);
      const subject = stringClaim(claims, 'sub');
      const objectId = stringClaim(claims, 'oid');
      const username = optionalClaim(claims, 'preferred_username') ?? optionalClaim(claims, 'email') ?? optionalClaim(claims, 'upn') ?? '';
      return {
        tenantId: tenantId.toLowerCase(),
        objectId: objectId.toLowerCase(),
        subject,
        displayName: optionalClaim(claims, 'name') ?? username,
        username,
      };
    },
  };
}

function stringClaim(claims: JWTPayload, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value === '') throw invalidIdToken(`the ID token has no valid '${name}'`);
  return value;
}

function optionalClaim(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = crypto.createHash('sha256').update(a).digest();
  const right = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(left, right);
}

function invalidIdToken(reason: string, cause?: unknown): AppError {
  return new AppError('id_token_invalid', { cause: cause ?? new Error(reason) });
}
