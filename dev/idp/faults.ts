// Development only: the failures the local identity provider's token endpoint can be told to produce.
import { randomBytes, randomUUID } from 'node:crypto';

import { SignJWT, UnsecuredJWT, base64url, decodeJwt } from 'jose';

import type { SigningKey } from './keys.ts';
import { AAD, microsoftErrorBody } from './microsoft-errors.ts';
import type { IdpFault } from './types.ts';

type TokenEndpointFault = Extract<IdpFault, `token-${string}`>;
type IdTokenFault = Extract<IdpFault, `id-token-${string}`>;

/** A complete replacement for a token endpoint response. */
export interface FaultResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Keys and issuer needed to produce altered ID tokens. */
export interface IdTokenFaultContext {
  /** The key the JWKS publishes (faults other than unknown-key re-sign with it). */
  publishedKey: SigningKey;
  /** A key whose kid is never published. */
  unpublishedKey: SigningKey;
  /** The genuine issuer; wrong-issuer uses another tenant's issuer on the same origin. */
  origin: string;
}

/** True for faults that replace the whole token endpoint response. */
export function isTokenEndpointFault(fault: IdpFault | null): fault is TokenEndpointFault {
  return fault !== null && fault.startsWith('token-');
}

/** True for faults that alter only the id_token of a genuine token response. */
export function isIdTokenFault(fault: IdpFault | null): fault is IdTokenFault {
  return fault !== null && fault.startsWith('id-token-');
}

/** The response a token-endpoint fault sends instead of the real one. */
export function tokenFaultResponse(fault: TokenEndpointFault, clientId: string | undefined): FaultResponse {
  const json = (status: number, body: unknown): FaultResponse => ({
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body),
  });
  switch (fault) {
    case 'token-invalid-client':
      return json(401, microsoftErrorBody('invalid_client', AAD.invalidClientSecret(clientId)));
    case 'token-invalid-grant':
      return json(400, microsoftErrorBody('invalid_grant', AAD.codeAlreadyRedeemed()));
    case 'token-server-error':
      return json(500, microsoftErrorBody('server_error', AAD.serviceError()));
    case 'token-html':
      return {
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><p>We can’t sign you in right now. Please try again later.</p></body></html>',
      };
  }
}

/** Returns the id_token altered as the fault describes; claims other than the altered ones are kept. */
export async function tamperIdToken(fault: IdTokenFault, idToken: string, context: IdTokenFaultContext): Promise<string> {
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload: typeof claims, key: SigningKey): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);

  switch (fault) {
    case 'id-token-wrong-nonce':
      return sign({ ...claims, nonce: randomBytes(16).toString('base64url') }, context.publishedKey);
    case 'id-token-wrong-audience':
      return sign({ ...claims, aud: randomUUID() }, context.publishedKey);
    case 'id-token-expired':
      return sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, context.publishedKey);
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
  }
}
