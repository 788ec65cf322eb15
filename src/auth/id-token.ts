import type { JWSHeaderParameters, JWTPayload } from 'jose';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { ProviderMetadata } from './discovery.ts';
import {
  checkAuthorizedParty,
  checkHeader,
  checkNonce,
  checkSigningKeyIssuer,
  checkTenantAllowed,
  invalidIdToken,
  readExpectedIssuer,
  readIdentity,
} from './id-token-checks.ts';
import type { VerifiedIdentity } from './id-token-checks.ts';
import type { SigningKey, SigningKeys } from './signing-keys.ts';

export type { VerifiedIdentity } from './id-token-checks.ts';

export interface IdTokenVerifier {
  /**
   * Verifies signature and claims as OpenID Connect Core §3.1.3.7 and Microsoft require.
   * `expectedNonce` is required at sign-in; a refreshed ID token (§12.2) is checked without it.
   */
  verify(idToken: string, checks: { metadata: ProviderMetadata; expectedNonce: string | undefined }): Promise<VerifiedIdentity>;
}

/** Allowed clock difference between this machine and Microsoft (jwtVerify's clockTolerance). */
export const CLOCK_SKEW_SECONDS = 300;
/** An ID token issued longer ago than this is not fresh from this sign-in (jwtVerify's maxTokenAge). */
export const MAX_TOKEN_AGE_SECONDS = 3600;
/** Core §2 plus Microsoft's tenant and object ids, which make the user key. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'tid', 'oid'];

/**
 * Checks ID tokens with jose's jwtVerify (signature, `iss`, `aud`, algorithm, times, required claims) against the keys
 * of the discovery jwks_uri (see signing-keys.ts), then Microsoft's own rules (id-token-checks.ts).
 */
export function createIdTokenVerifier(config: Config, signingKeys: SigningKeys): IdTokenVerifier {
  // Loaded by the first sign-in rather than at start, which does not need it; once, as a dynamic import() goes through
  // the module loader's resolution again on every call. A failed load is tried again by the next sign-in.
  let jose: Promise<typeof import('jose')> | undefined;
  const loadJose = (): Promise<typeof import('jose')> => {
    if (jose === undefined) {
      jose = import('jose');
      jose.catch(() => {
        jose = undefined;
      });
    }
    return jose;
  };
  return {
    async verify(idToken, { metadata, expectedNonce }) {
      const { decodeJwt, decodeProtectedHeader, errors: joseErrors, jwtVerify } = await loadJose();
      let unverified: { header: JWSHeaderParameters; claims: JWTPayload };
      try {
        unverified = { header: decodeProtectedHeader(idToken), claims: decodeJwt(idToken) };
      } catch (error) {
        throw invalidIdToken('the ID token is not a JWT', error);
      }
      checkHeader(unverified.header);
      // The issuer depends on the token's own tid (Microsoft's {tenantid} template): read it first, then let jose require it.
      const { tenantId, issuer } = readExpectedIssuer(unverified.claims, metadata.issuer);

      let claims: JWTPayload;
      let signingKey: SigningKey | undefined;
      try {
        ({ payload: claims } = await jwtVerify(
          idToken,
          async (protectedHeader) => {
            signingKey = await signingKeys.keyFor(metadata.jwksUri, protectedHeader.kid);
            return signingKey.key;
          },
          {
            issuer,
            audience: config.appId,
            algorithms: ['RS256'],
            // No currentDate: Microsoft stamps its tokens by the real clock, so they are compared with this machine's, not an injected one.
            clockTolerance: CLOCK_SKEW_SECONDS,
            maxTokenAge: MAX_TOKEN_AGE_SECONDS,
            requiredClaims: expectedNonce === undefined ? REQUIRED_CLAIMS : [...REQUIRED_CLAIMS, 'nonce'],
          },
        ));
      } catch (error) {
        if (error instanceof AppError) throw error;
        // The keys come from signing-keys.ts, which throws AppError when it cannot read them: jose's own errors are the token's.
        if (error instanceof joseErrors.JOSEError) throw invalidIdToken(error.message, error);
        throw new AppError('signing_keys_unavailable', { cause: error });
      }

      checkAuthorizedParty(claims, config.appId);
      if (expectedNonce !== undefined) checkNonce(claims, expectedNonce);
      checkSigningKeyIssuer(signingKey?.issuer, claims, tenantId);
      checkTenantAllowed(tenantId, config.allowedTenants);
      return readIdentity(claims, tenantId);
    },
  };
}
