// Development only: checks a client assertion signed with a certificate (private_key_jwt) the way Microsoft Entra ID does.
// learn.microsoft.com: identity-platform/certificate-credentials (header alg, typ, x5t#S256 or x5t; claims aud, exp, iss, jti, nbf, sub).
import { X509Certificate, createHash } from 'node:crypto';

import { compactVerify } from 'jose';

import { CREDENTIAL_REFUSALS, type CredentialRefusal, keyWindow } from './credential-errors.ts';

/** Entra does not document its clock skew; five minutes is the usual allowance [inf]. */
export const CLOCK_SKEW_SECONDS = 300;

/** A certificate registered on an app (an Entra keyCredential), with the thumbprints an assertion header may name. */
export interface RegisteredCertificate {
  certificate: X509Certificate;
  /** SHA-1 of the DER, upper-case hex: what the portal and AADSTS700027 show. */
  sha1Hex: string;
  x5t: string;
  x5tS256: string;
  notBefore: Date;
  notAfter: Date;
}

/** A decoded client assertion and what it must match. */
export interface AssertionUnderCheck {
  clientId: string;
  assertion: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The token endpoint URLs an `aud` may name: the one posted to, and the same under the tenant's id and domain. */
  acceptedAudiences: readonly string[];
  /** Seconds since the epoch. */
  now: number;
}

/** `jti` values already used, until their assertion expires. */
export interface UsedAssertionIds {
  /** True when the id was seen before; records it until `until` (seconds) otherwise. */
  seenBefore(id: string, until: number): boolean;
}

/** Reads registered PEM certificates once. */
export function registerCertificates(pems: readonly string[]): RegisteredCertificate[] {
  return pems.map((pem) => {
    const certificate = new X509Certificate(pem);
    const sha1 = createHash('sha1').update(certificate.raw).digest();
    const sha256 = createHash('sha256').update(certificate.raw).digest();
    return {
      certificate,
      sha1Hex: sha1.toString('hex').toUpperCase(),
      x5t: sha1.toString('base64url'),
      x5tS256: sha256.toString('base64url'),
      notBefore: new Date(certificate.validFrom),
      notAfter: new Date(certificate.validTo),
    };
  });
}

/** A set of used `jti` values that forgets each one once its assertion has expired. */
export function createUsedAssertionIds(): UsedAssertionIds {
  const used = new Map<string, number>();
  return {
    seenBefore(id, until) {
      const now = Date.now() / 1000;
      for (const [key, expiry] of used) if (expiry < now) used.delete(key);
      if (used.has(id)) return true;
      used.set(id, until);
      return false;
    },
  };
}

/** The thumbprint as Microsoft quotes it in AADSTS700027: hex of the x5t (SHA-1) header, else of x5t#S256. */
function quotedThumbprint(header: Record<string, unknown>): string {
  const value = typeof header.x5t === 'string' ? header.x5t : typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : '';
  return Buffer.from(value, 'base64url').toString('hex').toUpperCase();
}

/**
 * Checks in Entra's order: algorithm, thumbprint lookup among the app's certificates, the key's validity, the signature,
 * then the claims (aud, iss, sub, times, jti). Returns the refusal, or undefined when the assertion authenticates the client.
 */
export async function checkCertificateAssertion(
  check: AssertionUnderCheck,
  certificates: readonly RegisteredCertificate[],
  usedIds: UsedAssertionIds,
): Promise<CredentialRefusal | undefined> {
  const { header, claims, clientId, now } = check;
  const algorithm = header.alg;
  if (algorithm !== 'PS256' && algorithm !== 'RS256') return CREDENTIAL_REFUSALS.unsupportedAlgorithm();
  const x5t = header.x5t;
  const x5tS256 = header['x5t#S256'];
  if (typeof x5t !== 'string' && typeof x5tS256 !== 'string') return CREDENTIAL_REFUSALS.noThumbprint();
  // Every thumbprint the header names must be the same registered certificate's.
  const registered = certificates.find(
    (candidate) => (x5t === undefined || x5t === candidate.x5t) && (x5tS256 === undefined || x5tS256 === candidate.x5tS256),
  );
  const thumbprint = quotedThumbprint(header);
  if (registered === undefined) return CREDENTIAL_REFUSALS.certificateNotRegistered(thumbprint, clientId);
  const window = keyWindow(registered.notBefore, registered.notAfter);
  if (registered.notAfter.getTime() <= now * 1000) return CREDENTIAL_REFUSALS.certificateExpired(thumbprint, window);
  try {
    await compactVerify(check.assertion, registered.certificate.publicKey, { algorithms: [algorithm] });
  } catch {
    return CREDENTIAL_REFUSALS.signatureInvalid(thumbprint, window, clientId);
  }

  // Microsoft refuses an array aud: "AADSTS50027: JWT token is invalid or malformed." (panva/openid-client#348).
  if (typeof claims.aud !== 'string') return CREDENTIAL_REFUSALS.malformed('The aud claim must be one URL.');
  if (!check.acceptedAudiences.includes(claims.aud)) return CREDENTIAL_REFUSALS.audienceMismatch();
  if (claims.iss !== clientId) return CREDENTIAL_REFUSALS.malformed(`The iss claim must be the application id '${clientId}'.`);
  if (claims.sub !== claims.iss) return CREDENTIAL_REFUSALS.subjectNotIssuer();
  const { exp, nbf } = claims;
  if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) {
    return CREDENTIAL_REFUSALS.malformed('exp (and nbf, when present) must be numbers.');
  }
  if (exp < now - CLOCK_SKEW_SECONDS || (nbf ?? 0) > now + CLOCK_SKEW_SECONDS) return CREDENTIAL_REFUSALS.outsideValidTime(now, nbf, exp);
  if (typeof claims.jti !== 'string' || claims.jti === '') return CREDENTIAL_REFUSALS.malformed('The jti claim is missing.');
  // Entra does not document one-time use, and MSAL reuses an assertion for up to 10 minutes (notes: research-16-17 §7);
  // issue 17 asks this provider to refuse a reused jti, so the app's fresh-jti-per-request is tested against it.
  if (usedIds.seenBefore(`${clientId} ${claims.jti}`, exp + CLOCK_SKEW_SECONDS)) {
    return CREDENTIAL_REFUSALS.malformed(
      `The jti '${claims.jti}' was used before: this local provider refuses a replayed client assertion.`,
    );
  }
  return undefined;
}
