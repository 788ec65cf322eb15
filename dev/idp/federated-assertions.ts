// Development only: checks a federated client assertion (workload identity federation) the way Microsoft Entra ID does.
// learn.microsoft.com: entra/workload-id/workload-identity-federation-create-trust — issuer and subject compared exactly
// (case-sensitive) with the token's iss and sub, the audience api://AzureADTokenExchange, the issuer's keys found through
// its OpenID discovery document, RS256 only.
import { type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from 'jose';

import { CLOCK_SKEW_SECONDS } from './certificate-assertions.ts';
import { CREDENTIAL_REFUSALS, type CredentialRefusal } from './credential-errors.ts';
import type { FederatedCredential } from './types.ts';

/** Fetches and keeps each issuer's key set, as Entra does from the issuer's discovery document. */
export interface IssuerKeys {
  keysOf(issuer: string): Promise<JWTVerifyGetKey>;
}

/** Issuer key sets found through `{issuer}/.well-known/openid-configuration`, fetched once per issuer. */
export function createIssuerKeys(): IssuerKeys {
  const keySets = new Map<string, Promise<JWTVerifyGetKey>>();
  const discover = async (issuer: string): Promise<JWTVerifyGetKey> => {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const document = (await response.json()) as { jwks_uri?: unknown };
    if (typeof document.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
    return createRemoteJWKSet(new URL(document.jwks_uri));
  };
  return {
    keysOf(issuer) {
      let keys = keySets.get(issuer);
      if (keys === undefined) {
        keys = discover(issuer);
        // A failed discovery is tried again on the next request.
        keys.catch(() => keySets.delete(issuer));
        keySets.set(issuer, keys);
      }
      return keys;
    },
  };
}

function audiencesOf(claims: Record<string, unknown>): string[] {
  if (typeof claims.aud === 'string') return [claims.aud];
  return Array.isArray(claims.aud) ? claims.aud.filter((value): value is string => typeof value === 'string') : [];
}

/**
 * Checks a platform's token presented as the client assertion: a federated credential of the app with exactly its
 * issuer, then its subject, then one of its audiences; then the signature with the issuer's keys and the token's times.
 * No `jti` check: the platform's token is presented again and again until it is rotated.
 */
export async function checkFederatedAssertion(
  check: { assertion: string; header: Record<string, unknown>; claims: Record<string, unknown>; now: number },
  credentials: readonly FederatedCredential[],
  issuerKeys: IssuerKeys,
): Promise<CredentialRefusal | undefined> {
  const { claims } = check;
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  const audiences = audiencesOf(claims);
  if (credentials.length === 0) return CREDENTIAL_REFUSALS.noFederatedRecord(issuer, subject, audiences.join(', '));
  const sameIssuer = credentials.filter((credential) => credential.issuer === issuer);
  if (sameIssuer.length === 0) return CREDENTIAL_REFUSALS.federatedClaimMismatch('issuer', issuer);
  const sameSubject = sameIssuer.filter((credential) => credential.subject === subject);
  if (sameSubject.length === 0) {
    const caseOnly = sameIssuer.some((credential) => credential.subject.toLowerCase() === subject.toLowerCase());
    return CREDENTIAL_REFUSALS.federatedSubjectMismatch(subject, caseOnly);
  }
  if (!sameSubject.some((credential) => credential.audiences.some((audience) => audiences.includes(audience)))) {
    return CREDENTIAL_REFUSALS.federatedClaimMismatch('audience', audiences.join(', '));
  }
  // "Only issuers that provide tokens signed using the RS256 algorithm are supported" (federated-credential considerations).
  if (check.header.alg !== 'RS256') return CREDENTIAL_REFUSALS.unsupportedAlgorithm();
  let keys: JWTVerifyGetKey;
  try {
    keys = await issuerKeys.keysOf(issuer);
  } catch (error) {
    return CREDENTIAL_REFUSALS.federatedSignatureInvalid(`The keys of issuer '${issuer}' could not be read: ${(error as Error).message}.`);
  }
  try {
    // Times are checked below, with Microsoft's wording; here only the signature.
    await jwtVerify(check.assertion, keys, { algorithms: ['RS256'], clockTolerance: Number.MAX_SAFE_INTEGER });
  } catch {
    return CREDENTIAL_REFUSALS.federatedSignatureInvalid(`The token is not signed by a key of issuer '${issuer}'.`);
  }
  const { exp, nbf } = claims;
  if (typeof exp !== 'number') return CREDENTIAL_REFUSALS.malformed('The exp claim is missing.');
  const notBefore = typeof nbf === 'number' ? nbf : undefined;
  if (exp < check.now - CLOCK_SKEW_SECONDS || (notBefore ?? 0) > check.now + CLOCK_SKEW_SECONDS) {
    return CREDENTIAL_REFUSALS.outsideValidTime(check.now, notBefore, exp);
  }
  return undefined;
}
