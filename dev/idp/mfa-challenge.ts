// Development only: the Conditional Access claims challenge of resources that require multifactor authentication.
import { isDeepStrictEqual } from 'node:util';

import { errors } from 'oidc-provider';

/** The one Conditional Access policy of the home tenant: "require MFA" for every resource marked requiresMfa. */
export const MFA_POLICY_ID = '0f6b1a3e-52d4-4c8e-9b7a-3d2e1f4c5a6b';

/**
 * The `claims` of an AADSTS50076 answer, a JSON string as Microsoft sends it (the 2023 shape seen in
 * AzureAD/microsoft-authentication-library-for-js#5491); a client passes it back on /authorize as the
 * `claims` parameter (learn.microsoft.com/en-us/entra/identity-platform/claims-challenge).
 */
export const MFA_CLAIMS_CHALLENGE = JSON.stringify({ access_token: { capolids: { essential: true, values: [MFA_POLICY_ID] } } });

/** The `amr` value a sign-in that answered the challenge records; tokens of that sign-in carry it. */
export const MFA_METHOD = 'mfa';

function parseJsonObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when an /authorize `claims` parameter carries the challenge. Clients may merge it with their
 * own capabilities (`xms_cc`), so only the challenged member is compared.
 */
export function answersMfaChallenge(claims: unknown): boolean {
  const accessToken = parseJsonObject(claims)?.access_token;
  const challenged = (JSON.parse(MFA_CLAIMS_CHALLENGE) as { access_token: { capolids: unknown } }).access_token.capolids;
  return (
    typeof accessToken === 'object' &&
    accessToken !== null &&
    isDeepStrictEqual((accessToken as Record<string, unknown>).capolids, challenged)
  );
}

/** oidc-provider `extraParams` check: `claims` must be a JSON object (Microsoft refuses the request otherwise). */
export function checkClaimsParameter(_ctx: unknown, value: string | undefined): void {
  if (value !== undefined && parseJsonObject(value) === undefined) {
    throw new errors.InvalidRequest('The claims parameter is not a valid JSON object.');
  }
}
