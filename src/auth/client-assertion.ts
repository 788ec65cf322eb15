import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { AppError } from '../errors.ts';
import type { ClientCertificate } from './client-certificate.ts';
import type { AssertionAlgorithm, ClientCredential, FederatedTokenSetting } from './client-credential.ts';

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Microsoft asks for an assertion that expires 5–10 minutes after `nbf` (learn.microsoft.com: identity-platform/certificate-credentials). */
export const ASSERTION_LIFETIME_SECONDS = 10 * 60;

/** How one token request authenticates the app: the client secret, or a client assertion made for this request. */
export type TokenRequestAuthentication =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'assertion'; readonly assertion: string };

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The credential for one token request. A certificate signs a new assertion every time (new `jti`, `nbf`/`iat` now);
 * a federated token file is read again every time, since the platform rotates it. `now` is the real clock: the
 * token endpoint compares the assertion's times with its own.
 */
export async function authenticateTokenRequest(
  credential: ClientCredential,
  request: { clientId: string; tokenEndpoint: string },
  now: () => number = Date.now,
): Promise<TokenRequestAuthentication> {
  switch (credential.kind) {
    case 'secret':
      return { kind: 'secret', secret: credential.secret };
    case 'certificate':
      return { kind: 'assertion', assertion: await signClientAssertion(credential.certificate, credential.algorithm, request, now()) };
    case 'federated':
      return { kind: 'assertion', assertion: await readFederatedToken(credential.tokenFile, credential.setting, now()) };
  }
}

/**
 * A client assertion as Microsoft documents it: header `alg` (PS256, or RS256), `typ` JWT, `x5t#S256` and `x5t` (some
 * tenants still match on the SHA-1 one); claims `aud` = the token endpoint, `iss` = `sub` = the client id, a random `jti`,
 * `nbf` = `iat` = now, `exp` ASSERTION_LIFETIME_SECONDS later.
 */
export async function signClientAssertion(
  certificate: ClientCertificate,
  algorithm: AssertionAlgorithm,
  request: { clientId: string; tokenEndpoint: string },
  nowMs: number,
): Promise<string> {
  // Loaded by the first token request, like simple-oauth2: the start needs neither.
  const { SignJWT } = await import('jose');
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({ nbf: now })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT', 'x5t#S256': certificate.thumbprints.x5tS256, x5t: certificate.thumbprints.x5t })
    .setAudience(request.tokenEndpoint)
    .setIssuer(request.clientId)
    .setSubject(request.clientId)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .sign(certificate.privateKey);
}

/** The platform's current token, read now: never cached, so a rotated file is used at once and an expired one never is. */
async function readFederatedToken(tokenFile: string, setting: FederatedTokenSetting, nowMs: number): Promise<string> {
  const unusable = (problem: string, cause?: unknown) =>
    new AppError('federated_token_unusable', {
      values: { setting, tokenFile, problem },
      cause: cause ?? new Error(`${setting}: ${problem}`),
    });
  let text: string;
  try {
    text = await fs.readFile(tokenFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw unusable(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'unknown error'})`, new Error(`${setting}: ${code}`));
  }
  const token = text.trim();
  if (token === '') throw unusable('is empty');
  if (!JWT.test(token)) throw unusable('does not hold a token (a JWT)');
  let expiresAt: unknown;
  try {
    const { decodeJwt } = await import('jose');
    expiresAt = decodeJwt(token).exp;
  } catch {
    throw unusable('does not hold a token (a JWT)');
  }
  if (typeof expiresAt === 'number' && expiresAt * 1000 <= nowMs) {
    throw unusable(`holds a token that expired at ${new Date(expiresAt * 1000).toISOString()}`);
  }
  return token;
}
