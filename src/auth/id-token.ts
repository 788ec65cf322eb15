import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { ProviderMetadata } from './discovery.ts';
import {
  checkAudience,
  checkAuthorizedParty,
  checkHeader,
  checkIssuer,
  checkNonce,
  checkRequiredClaims,
  checkSigningKeyIssuer,
  checkTenantAllowed,
  checkTimes,
  invalidIdToken,
  readClaims,
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

// jose reports these when the token itself is bad; anything else (network, HTTP) means the keys could not be read.
const TOKEN_FAULTS = new Set([
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWS_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/** Checks ID tokens against the keys of the discovery jwks_uri (see signing-keys.ts) and the configuration. */
export function createIdTokenVerifier(config: Config, signingKeys: SigningKeys): IdTokenVerifier {
  return {
    async verify(idToken, { metadata, expectedNonce }) {
      // Loaded by the first sign-in rather than at start, which does not need it.
      const { compactVerify, decodeProtectedHeader, errors: joseErrors } = await import('jose');
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(idToken);
      } catch (error) {
        throw invalidIdToken('the ID token is not a JWS', error);
      }
      checkHeader(header);

      let verified: Awaited<ReturnType<typeof compactVerify>>;
      let signingKey: SigningKey | undefined;
      try {
        verified = await compactVerify(
          idToken,
          async (protectedHeader) => {
            signingKey = await signingKeys.keyFor(metadata.jwksUri, protectedHeader.kid);
            return signingKey.key;
          },
          { algorithms: ['RS256'] },
        );
      } catch (error) {
        if (error instanceof joseErrors.JOSEError && TOKEN_FAULTS.has(error.code)) {
          throw invalidIdToken(error.message, error);
        }
        if (error instanceof AppError) throw error;
        throw new AppError('signing_keys_unavailable', { cause: error });
      }

      const claims = readClaims(verified.payload, verified.protectedHeader);
      checkRequiredClaims(claims, { nonce: expectedNonce !== undefined });
      checkAudience(claims, config.appId);
      // Microsoft stamps its tokens by the real clock, so they are compared with this machine's, not with an injected one.
      checkTimes(claims, Math.floor(Date.now() / 1000));
      checkAuthorizedParty(claims, config.appId);
      if (expectedNonce !== undefined) checkNonce(claims, expectedNonce);
      const tenantId = checkIssuer(claims, metadata.issuer);
      checkSigningKeyIssuer(signingKey?.issuer, claims, tenantId);
      checkTenantAllowed(tenantId, config.allowedTenants);
      return readIdentity(claims, tenantId);
    },
  };
}
