// Development only: how a personal Microsoft account (consumers tenant) signs in and what its tokens look like.
import { SignJWT, decodeJwt } from 'jose';
import type Provider from 'oidc-provider';

import { CONSUMERS_TENANT_ID, TENANT_DOMAIN, TENANT_ID, findAccountBySubject, isPersonalAccount } from './accounts.ts';
import { GRAPH_APP_ID } from './graph.ts';
import type { SigningKey } from './keys.ts';
import { AAD } from './microsoft-errors.ts';
import type { TestAccount } from './types.ts';

/** The claims the Graph stand-in reads from an access token. */
export type GraphTokenClaims = Record<string, unknown> & { oid?: string; scp?: string; sub?: string };

/**
 * An ID token of a personal account carries the consumers tenant in `iss` and `tid`, whatever
 * authority it came through ("the value is 9188040d-6c67-4c5b-b112-36a304b66dad",
 * learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference), so a client checking
 * `iss` against the discovery template `{tenantid}` with the token's `tid` accepts it. oidc-provider
 * writes its one issuer, so the token is signed again with the same published key.
 */
export async function reissuePersonalIdToken(idToken: string, origin: string, key: SigningKey): Promise<string> {
  const claims = decodeJwt(idToken);
  if (claims.tid !== CONSUMERS_TENANT_ID) return idToken;
  return new SignJWT({ ...claims, iss: `${origin}/${CONSUMERS_TENANT_ID}/v2.0` })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .sign(key.privateKey);
}

/** The tenant segment (`common`, a GUID …) of an interaction, read from the URL it resumes at. */
export function tenantSegmentOf(returnTo: string): string | undefined {
  if (!URL.canParse(returnTo)) return undefined;
  const segment = new URL(returnTo).pathname.split('/')[1];
  return segment === undefined || segment === '' ? undefined : decodeURIComponent(segment).toLowerCase();
}

/**
 * Why Microsoft would not let this account sign in through this tenant segment, or undefined: a
 * personal account signs in through `common` (or `consumers`), never through `organizations` or a
 * tenant it is no guest of.
 */
export function signInRefusal(account: TestAccount, segment: string | undefined, clientId: string): string | undefined {
  if (!isPersonalAccount(account) || segment === undefined) return undefined;
  if (segment === 'organizations') return "You can't sign in here with a personal account. Use your work or school account instead.";
  if (segment === TENANT_ID || segment === TENANT_DOMAIN) {
    const aad = AAD.userNotInTenant(account.username, clientId);
    return `AADSTS${aad.code}: ${aad.text}`;
  }
  return undefined;
}

/** Reads an opaque Graph access token (a personal account's) back from the provider's store, for the Graph stand-in. */
export function opaqueGraphTokenReader(provider: Provider): (token: string) => Promise<GraphTokenClaims | undefined> {
  return async (token) => {
    const accessToken = await provider.AccessToken.find(token);
    if (accessToken?.accountId === undefined || accessToken.aud !== GRAPH_APP_ID) return undefined;
    const account = findAccountBySubject(accessToken.accountId);
    return account === undefined ? undefined : { oid: account.objectId, scp: accessToken.scope, sub: accessToken.accountId };
  };
}
