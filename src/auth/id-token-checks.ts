import type { JWSHeaderParameters, JWTPayload } from 'jose';
import { isTenantId } from '../config.ts';
import { equalInConstantTime } from '../constant-time.ts';
import { AppError, tenantNotAllowed } from '../errors.ts';

// The rules of OpenID Connect Core §3.1.3.7 and Microsoft, one function each, in the order the verifier runs them.
// Each throws the 'id_token_invalid' error, whose cause names the rule broken (the log's reason), or returns.

/** Who signed in, from a verified ID token. The stable key is (tenantId, objectId). */
export interface VerifiedIdentity {
  readonly tenantId: string;
  readonly objectId: string;
  readonly subject: string;
  readonly displayName: string;
  readonly username: string;
}

/** Allowed clock difference between this machine and Microsoft. */
export const CLOCK_SKEW_SECONDS = 300;
/** An ID token issued longer ago than this is not fresh from this sign-in. */
export const MAX_TOKEN_AGE_SECONDS = 3600;
/** Core §2 plus Microsoft's tenant and object ids, which make the user key. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'tid', 'oid'] as const;

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

/** The verified payload as a claims object: a top-level JSON object, never an unencoded (RFC 7797 `b64: false`) payload. */
export function readClaims(payload: Uint8Array, header: JWSHeaderParameters): JWTPayload {
  if (header.crit?.includes('b64') && header.b64 === false) throw invalidIdToken('JWTs MUST NOT use unencoded payload');
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw invalidIdToken('JWT Claims Set must be a top-level JSON object', error);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw invalidIdToken('JWT Claims Set must be a top-level JSON object');
  return claims as JWTPayload;
}

/** Every claim the checks below read is present; `nonce` too when the sign-in sent one. */
export function checkRequiredClaims(claims: JWTPayload, options: { nonce: boolean }): void {
  for (const name of [...REQUIRED_CLAIMS, ...(options.nonce ? ['nonce'] : [])]) {
    if (!Object.hasOwn(claims, name)) throw invalidIdToken(`missing required "${name}" claim`);
  }
}

/** `aud` is this app's client id, or a list that contains it. */
export function checkAudience(claims: JWTPayload, clientId: string): void {
  const { aud } = claims;
  if (typeof aud === 'string' ? aud !== clientId : !(Array.isArray(aud) && aud.includes(clientId))) {
    throw invalidIdToken('unexpected "aud" claim value');
  }
}

/**
 * `nbf` (when present) has come, `exp` has not passed, and `iat` is neither in the future nor older than
 * MAX_TOKEN_AGE_SECONDS, each within CLOCK_SKEW_SECONDS of `nowSeconds` (seconds since the epoch).
 */
export function checkTimes(claims: JWTPayload, nowSeconds: number): void {
  const issuedAt = numericClaim(claims, 'iat');
  const notBefore = claims.nbf === undefined ? undefined : numericClaim(claims, 'nbf');
  if (notBefore !== undefined && notBefore > nowSeconds + CLOCK_SKEW_SECONDS) throw invalidIdToken('"nbf" claim timestamp check failed');
  if (numericClaim(claims, 'exp') <= nowSeconds - CLOCK_SKEW_SECONDS) throw invalidIdToken('"exp" claim timestamp check failed');
  const age = nowSeconds - issuedAt;
  if (age - CLOCK_SKEW_SECONDS > MAX_TOKEN_AGE_SECONDS) throw invalidIdToken('"iat" claim timestamp check failed (too far in the past)');
  if (age < -CLOCK_SKEW_SECONDS) throw invalidIdToken('"iat" claim timestamp check failed (it should be in the past)');
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

/** `iss` must match exactly the discovery issuer for the token's own `tid` (see expectedIssuer); returns that tid. */
export function checkIssuer(claims: JWTPayload, discoveryIssuer: string): string {
  const tenantId = stringClaim(claims, 'tid');
  const issuer = expectedIssuer(discoveryIssuer, tenantId);
  if (issuer === undefined || claims.iss !== issuer) throw invalidIdToken('the ID token issuer is not the expected one');
  return tenantId;
}

/**
 * Microsoft's key sets name the issuer each key may sign for: a tenant's own key must not vouch for another tenant.
 * `keyIssuer` undefined (a key published without one) passes; checkIssuer still applies.
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
  return new AppError('id_token_invalid', { cause: cause ?? new Error(reason) });
}

function numericClaim(claims: JWTPayload, name: 'iat' | 'nbf' | 'exp'): number {
  const value = claims[name];
  if (typeof value !== 'number') throw invalidIdToken(`"${name}" claim must be a number`);
  return value;
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
