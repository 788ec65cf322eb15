import type { JWSHeaderParameters, JWTPayload } from 'jose';
import { isTenantId } from '../config.ts';
import { equalInConstantTime } from '../constant-time.ts';
import { AppError, tenantNotAllowed } from '../errors.ts';

// The rules jose's jwtVerify does not know: Microsoft's (the tenant in `tid`, the key's published issuer, the tenant
// allow-list) and OpenID Connect Core §3.1.3.7's `azp` and nonce. One function each, in the order the verifier runs them;
// each throws the 'id_token_invalid' error, whose cause names the rule broken (the log's reason), or returns.

/** Who signed in, from a verified ID token. The stable key is (tenantId, objectId). */
export interface VerifiedIdentity {
  readonly tenantId: string;
  readonly objectId: string;
  readonly subject: string;
  readonly displayName: string;
  readonly username: string;
}

/**
 * The issuer an ID token must carry: the discovery issuer, with Microsoft's `{tenantid}` template
 * (common, organizations) filled in from the token's own `tid`.
 */
export function expectedIssuer(discoveryIssuer: string, tenantId: string): string | undefined {
  if (!isTenantId(tenantId)) return undefined;
  return discoveryIssuer.replace('{tenantid}', tenantId.toLowerCase());
}

/** Keys come from the discovery jwks_uri only: a header that names its own key (`jku`, `x5u`, `jwk`) is refused. */
export function checkHeader(header: JWSHeaderParameters): void {
  if (header.jku !== undefined || header.x5u !== undefined || header.jwk !== undefined) {
    throw invalidIdToken('the ID token header names its own key');
  }
}

/**
 * The token's tenant and the issuer it must carry (see expectedIssuer), read from its claims before the signature is
 * checked: they choose the issuer jwtVerify then requires. A `tid` that is not a tenant GUID is refused here.
 */
export function readExpectedIssuer(unverified: JWTPayload, discoveryIssuer: string): { tenantId: string; issuer: string } {
  const tenantId = unverified.tid;
  const issuer = typeof tenantId === 'string' ? expectedIssuer(discoveryIssuer, tenantId) : undefined;
  if (typeof tenantId !== 'string' || issuer === undefined) throw invalidIdToken('the ID token tid is not a tenant id');
  return { tenantId, issuer };
}

/** The token was issued to this app alone: exactly one audience, and an `azp`, when present, that names this app. */
export function checkAuthorizedParty(claims: JWTPayload, clientId: string): void {
  if (Array.isArray(claims.aud) && claims.aud.length !== 1) throw invalidIdToken('the ID token has more than one audience');
  if (claims.azp !== undefined && claims.azp !== clientId) throw invalidIdToken('the ID token azp is another client');
}

/** `nonce` equals the one this sign-in sent, compared in constant time. */
export function checkNonce(claims: JWTPayload, expectedNonce: string): void {
  if (typeof claims.nonce !== 'string' || !equalInConstantTime(claims.nonce, expectedNonce))
    throw invalidIdToken('the ID token nonce differs');
}

/**
 * Microsoft's key sets name the issuer each key may sign for: a tenant's own key must not vouch for another tenant.
 * `keyIssuer` undefined (a key published without one) passes; jwtVerify's issuer check still applies.
 */
export function checkSigningKeyIssuer(keyIssuer: string | undefined, claims: JWTPayload, tenantId: string): void {
  if (keyIssuer !== undefined && expectedIssuer(keyIssuer, tenantId) !== claims.iss)
    throw invalidIdToken('the signing key belongs to another issuer');
}

/** With O365_ALLOWED_TENANTS set (lower-case tenant ids), the token's tenant is on it: otherwise the 403 'tenant_not_allowed'. */
export function checkTenantAllowed(tenantId: string, allowedTenants: readonly string[] | undefined): void {
  if (allowedTenants !== undefined && !allowedTenants.includes(tenantId.toLowerCase())) throw tenantNotAllowed(tenantId);
}

/** The identity of a token that passed every check: ids in lower case, names cut to 256 characters. */
export function readIdentity(claims: JWTPayload, tenantId: string): VerifiedIdentity {
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
}

/** The error every failed check throws: the page says the sign-in could not be verified; `reason` goes to the log. */
export function invalidIdToken(reason: string, cause?: unknown): AppError {
  return new AppError('id_token_invalid', { cause: new Error(reason, cause === undefined ? undefined : { cause }) });
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
