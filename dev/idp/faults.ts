// Development only: the failures the local identity provider's token endpoint can be told to produce.
import { randomBytes, randomUUID } from 'node:crypto';

import { SignJWT, UnsecuredJWT, base64url, decodeJwt } from 'jose';

import { TEST_ACCOUNTS, subjectOf } from './accounts.ts';
import type { SigningKey } from './keys.ts';
import { AAD, microsoftErrorBody } from './microsoft-errors.ts';
import type { IdpFault } from './types.ts';

type TokenEndpointFault = Exclude<Extract<IdpFault, `token-${string}`>, 'token-hang'>;
type IdTokenFault = Extract<IdpFault, `id-token-${string}`>;
type ResponseFault = Extract<IdpFault, `response-${string}`>;

/** A complete replacement for a token endpoint response. */
export interface FaultResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** Keys and issuer needed to produce altered ID tokens. */
export interface IdTokenFaultContext {
  /** The key the JWKS publishes (faults other than unknown-key re-sign with it). */
  publishedKey: SigningKey;
  /** A key whose kid is never published. */
  unpublishedKey: SigningKey;
  /** The genuine issuer; wrong-issuer uses another tenant's issuer on the same origin. */
  origin: string;
  /** The registered secret of a client, for the HS256 fault. */
  clientSecretOf(clientId: string): string | undefined;
  /** The genuine id_token handed out before the current one, for the replay fault. */
  previousIdToken(): string | undefined;
}

/** The display name the id-token-markup-name fault signs in with: markup and both quotes, as a page must escape them. */
export const MARKUP_DISPLAY_NAME = `<script>alert("name")</script><b>O'Brien & Sons</b>`;

/** A tenant other than the home tenant, for cross-tenant faults. */
export const OTHER_TENANT_ID = 'c3b6a1de-7f2e-4c55-9d1a-0e5f6a7b8c9d';

/** True for faults that replace the whole token endpoint response. */
export function isTokenEndpointFault(fault: IdpFault | null | undefined): fault is TokenEndpointFault {
  return fault?.startsWith('token-') === true && fault !== 'token-hang';
}

/** True for faults that alter only the id_token of a genuine token response. */
export function isIdTokenFault(fault: IdpFault | null | undefined): fault is IdTokenFault {
  return fault?.startsWith('id-token-') === true;
}

/** True for faults that alter fields of a genuine token response. */
export function isResponseFault(fault: IdpFault | null | undefined): fault is ResponseFault {
  return fault?.startsWith('response-') === true;
}

/** The genuine token response with the fault's change. */
export function alterTokenResponse(fault: ResponseFault, body: Record<string, unknown>): Record<string, unknown> {
  switch (fault) {
    case 'response-no-access-token':
      return { ...body, access_token: undefined };
    case 'response-no-id-token':
      return { ...body, id_token: undefined };
    case 'response-token-type-mac':
      return { ...body, token_type: 'MAC' };
    case 'response-no-expires-in':
      return { ...body, expires_in: undefined, ext_expires_in: undefined };
    case 'response-expires-in-absurd':
      return { ...body, expires_in: '1e20', ext_expires_in: '1e20' };
    // Microsoft sends expires_in as a JSON number (learn.microsoft.com: v2-oauth2-auth-code-flow, "Successful response").
    case 'response-expires-in-number-0':
      return { ...body, expires_in: 0, ext_expires_in: 0 };
    case 'response-expires-in-number-minus-1':
      return { ...body, expires_in: -1, ext_expires_in: -1 };
    case 'response-expires-in-number-86401':
      return { ...body, expires_in: 86401, ext_expires_in: 86401 };
    case 'response-expires-in-number-1e20':
      return { ...body, expires_in: 1e20, ext_expires_in: 1e20 };
    case 'response-opaque-access-token':
      return { ...body, access_token: `EwB${randomBytes(96).toString('base64url')}` };
    case 'response-markup-access-token':
      return { ...body, access_token: `<b>${randomBytes(12).toString('base64url')}</b>&"'` };
    case 'response-quote-access-token':
      return { ...body, access_token: `EwB${randomBytes(24).toString('base64url')}'; echo INJECTED; '$(echo INJECTED)` };
  }
}

/** The response a token-endpoint fault sends instead of the real one. */
export function tokenFaultResponse(fault: TokenEndpointFault, clientId: string | undefined, tokenEndpoint: string): FaultResponse {
  const json = (status: number, body: unknown): FaultResponse => ({
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body),
  });
  switch (fault) {
    case 'token-invalid-client':
      return json(401, microsoftErrorBody('invalid_client', AAD.invalidClientSecret(clientId)));
    case 'token-client-secret-expired':
      return json(
        401,
        microsoftErrorBody('invalid_client', {
          code: 7000222,
          text: `The provided client secret keys for app '${clientId ?? ''}' are expired. Visit the Azure portal to create new keys for your app.`,
        }),
      );
    case 'token-invalid-grant':
      return json(400, microsoftErrorBody('invalid_grant', AAD.codeAlreadyRedeemed()));
    case 'token-code-expired':
      return json(400, microsoftErrorBody('invalid_grant', AAD.grantExpired()));
    case 'token-server-error':
      return json(500, microsoftErrorBody('server_error', AAD.serviceError()));
    case 'token-service-unavailable':
      return {
        status: 503,
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>',
      };
    case 'token-temporarily-unavailable':
      return json(503, microsoftErrorBody('temporarily_unavailable', AAD.serviceError()));
    case 'token-throttled':
      return { status: 429, contentType: 'text/plain; charset=utf-8', body: 'Too Many Requests', headers: { 'Retry-After': '30' } };
    case 'token-truncated-json':
      return {
        status: 200,
        contentType: 'application/json; charset=utf-8',
        body: '{"token_type":"Bearer","scope":"openid profile","expires_in":3600,"access_tok',
      };
    case 'token-redirect':
      return { status: 307, contentType: 'text/plain; charset=utf-8', body: 'Temporary Redirect', headers: { Location: tokenEndpoint } };
    case 'token-html':
      return {
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><p>We can’t sign you in right now. Please try again later.</p></body></html>',
      };
  }
}

/** The public half of a key's JWK, as a token header would embed it. */
function publicJwkOf(key: SigningKey): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = key.privateJwk;
  return publicJwk;
}

/** Returns the id_token altered as the fault describes; claims other than the altered ones are kept. */
export async function tamperIdToken(fault: IdTokenFault, idToken: string, context: IdTokenFaultContext): Promise<string> {
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload: typeof claims, key: SigningKey, header: Record<string, unknown> = {}): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey);
  const without = (...names: string[]) => Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)));
  const tid = String(claims.tid);
  const signWithClientSecret = (header: Record<string, unknown>): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
      .sign(new TextEncoder().encode(context.clientSecretOf(String(claims.aud)) ?? ''));
  // A key the header names itself: an attacker's (unpublished) one, or the published one so that only the header rule can refuse.
  const headerKey = fault.endsWith('-known-key') ? context.publishedKey : context.unpublishedKey;

  switch (fault) {
    case 'id-token-wrong-nonce':
      return sign({ ...claims, nonce: randomBytes(16).toString('base64url') }, context.publishedKey);
    case 'id-token-no-nonce':
      return sign(without('nonce'), context.publishedKey);
    case 'id-token-replayed':
      return context.previousIdToken() ?? idToken;
    case 'id-token-no-audience':
      return sign(without('aud'), context.publishedKey);
    case 'id-token-extra-audience':
      return sign({ ...claims, aud: [String(claims.aud), randomUUID()] }, context.publishedKey);
    case 'id-token-wrong-azp':
      return sign({ ...claims, azp: randomUUID() }, context.publishedKey);
    case 'id-token-no-exp':
      return sign(without('exp'), context.publishedKey);
    case 'id-token-not-yet-valid':
      return sign({ ...claims, nbf: now + 3600 }, context.publishedKey);
    case 'id-token-no-iat':
      return sign(without('iat'), context.publishedKey);
    case 'id-token-week-old':
      return sign({ ...claims, iat: now - 7 * 24 * 3600, nbf: now - 7 * 24 * 3600 }, context.publishedKey);
    case 'id-token-v1-issuer':
      return sign({ ...claims, iss: `https://sts.windows.net/${tid}/` }, context.publishedKey);
    case 'id-token-other-cloud-issuer':
      return sign({ ...claims, iss: `https://login.microsoftonline.us/${tid}/v2.0` }, context.publishedKey);
    case 'id-token-template-issuer':
      return sign({ ...claims, iss: `${context.origin}/{tenantid}/v2.0` }, context.publishedKey);
    case 'id-token-non-guid-tid':
      return sign({ ...claims, tid: 'common', iss: `${context.origin}/common/v2.0` }, context.publishedKey);
    case 'id-token-other-tenant':
      return sign({ ...claims, tid: OTHER_TENANT_ID, iss: `${context.origin}/${OTHER_TENANT_ID}/v2.0` }, context.publishedKey);
    case 'id-token-new-username':
      return sign({ ...claims, preferred_username: 'renamed@contoso.test', email: 'renamed@contoso.test' }, context.publishedKey);
    case 'id-token-no-sub':
      return sign(without('sub'), context.publishedKey);
    case 'id-token-hs256-client-secret':
      return signWithClientSecret({});
    case 'id-token-hs256-known-kid':
      return signWithClientSecret({ kid: context.publishedKey.kid });
    case 'id-token-jku-header':
    case 'id-token-jku-header-known-key':
      return sign(claims, headerKey, { jku: `${context.origin}/attacker/keys` });
    case 'id-token-x5u-header':
    case 'id-token-x5u-header-known-key':
      return sign(claims, headerKey, { x5u: `${context.origin}/attacker/cert.pem` });
    case 'id-token-jwk-header':
    case 'id-token-jwk-header-known-key':
      return sign(claims, headerKey, { jwk: publicJwkOf(headerKey) });
    case 'id-token-wrong-audience':
      return sign({ ...claims, aud: randomUUID() }, context.publishedKey);
    case 'id-token-expired':
      return sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, context.publishedKey);
    case 'id-token-expired-recent-iat':
      return sign({ ...claims, iat: now - 420, nbf: now - 420, exp: now - 330 }, context.publishedKey);
    case 'id-token-iat-in-future':
      return sign({ ...claims, iat: now + 3600, nbf: now, exp: now + 7200 }, context.publishedKey);
    case 'id-token-wrong-issuer':
      return sign({ ...claims, iss: `${context.origin}/${randomUUID()}/v2.0` }, context.publishedKey);
    case 'id-token-bad-signature': {
      const [header = '', payload = '', signature = ''] = idToken.split('.');
      const bytes = base64url.decode(signature);
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      return `${header}.${payload}.${base64url.encode(bytes)}`;
    }
    case 'id-token-unknown-key':
      return sign(claims, context.unpublishedKey);
    case 'id-token-alg-none':
      return new UnsecuredJWT(claims).encode();
    case 'id-token-alg-none-known-kid': {
      const encode = (part: unknown) => base64url.encode(JSON.stringify(part));
      return `${encode({ alg: 'none', typ: 'JWT', kid: context.publishedKey.kid })}.${encode(claims)}.`;
    }
    case 'id-token-markup-name':
      return sign({ ...claims, name: MARKUP_DISPLAY_NAME }, context.publishedKey);
    case 'id-token-other-user': {
      const other = TEST_ACCOUNTS.find((account) => account.objectId !== claims.oid)!;
      return sign(
        { ...claims, oid: other.objectId, sub: subjectOf(other), name: other.displayName, preferred_username: other.username },
        context.publishedKey,
      );
    }
  }
}
