// Development only: client authentication at the token endpoint as Microsoft Entra ID does it, before oidc-provider sees the
// request. An Entra app may hold a secret, certificates and federated credentials at once and a request may use any one of
// them; oidc-provider knows one method per client and cannot take a federated token (its iss is not the client). So this
// step checks the credential itself with Microsoft's errors, and hands oidc-provider a request it accepts: the client's
// token-endpoint secret in place of a verified assertion (notes: research-16-17 §12a).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import type { Request, Response } from 'express';
import { decodeJwt, decodeProtectedHeader } from 'jose';

import { TENANT_DOMAIN, TENANT_ID } from './accounts.ts';
import {
  type RegisteredCertificate,
  checkCertificateAssertion,
  createUsedAssertionIds,
  registerCertificates,
} from './certificate-assertions.ts';
import { CREDENTIAL_REFUSALS, type CredentialRefusal } from './credential-errors.ts';
import { checkFederatedAssertion, createIssuerKeys } from './federated-assertions.ts';
import { microsoftErrorBody } from './microsoft-errors.ts';
import type { IdpClient, ReceivedTokenRequest } from './types.ts';

/** RFC 7523 §2.2. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const BODY_LIMIT_BYTES = 56 * 1024;

/** What a token request's record says about the client's credential. */
export type ClientAuthenticationRecord = Pick<
  ReceivedTokenRequest,
  'clientAuthentication' | 'clientSecretSent' | 'assertionHeader' | 'assertionClaims'
>;

/** What the token-endpoint step needs from the running provider. */
export interface ClientAuthenticationContext {
  origin: string;
  clients: readonly IdpClient[];
  recordSecret(value: unknown): void;
  /** Records a token request this step answered itself (a refused credential). */
  recordTokenRequest(request: ReceivedTokenRequest): void;
}

/** Checks the credential of a token request; true when it answered the request (a refusal), false to hand it on. */
export type TokenClientAuthenticator = (
  req: Request,
  res: Response,
  target: { tenantSegment: string; tokenUrl: string },
) => Promise<boolean>;

const records = new WeakMap<IncomingMessage, ClientAuthenticationRecord>();
const tokenEndpointSecrets = new WeakMap<IdpClient, string>();

/** The record of the credential a token request carried (set by the authenticator; 'none' before it ran). */
export function clientAuthenticationOf(req: IncomingMessage): ClientAuthenticationRecord {
  return records.get(req) ?? { clientAuthentication: 'none', clientSecretSent: false };
}

/**
 * The secret oidc-provider knows the client by: its registered secret, or, for an app without one, a random secret that
 * never leaves the provider (so no posted secret can match it).
 */
export function tokenEndpointSecretOf(client: IdpClient): string {
  if (client.clientSecret !== undefined) return client.clientSecret;
  let secret = tokenEndpointSecrets.get(client);
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    tokenEndpointSecrets.set(client, secret);
  }
  return secret;
}

function decoded(assertion: string): { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined {
  try {
    return { header: decodeProtectedHeader(assertion) as Record<string, unknown>, claims: decodeJwt(assertion) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

async function readBody(req: Request): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Gives oidc-provider the (possibly rewritten) body as if it were still unread: its body parser reads `req` when
 * `req.readable` is true and otherwise warns about an upstream parser (oidc-provider lib/shared/selective_body.js).
 */
function replayBody(req: Request, body: Buffer): void {
  req.headers['content-length'] = String(body.length);
  delete req.headers['transfer-encoding'];
  Object.defineProperty(req, 'readable', { value: true, configurable: true });
  Object.defineProperty(req, 'iterator', {
    value: async function* replay() {
      yield body;
    },
    configurable: true,
  });
}

/** Creates the token endpoint's credential check for these clients, with its own memory of used assertion ids. */
export function createTokenClientAuthenticator(context: ClientAuthenticationContext): TokenClientAuthenticator {
  const certificates = new Map<IdpClient, RegisteredCertificate[]>(
    context.clients.map((client) => [client, registerCertificates(client.certificates ?? [])]),
  );
  const usedIds = createUsedAssertionIds();
  const issuerKeys = createIssuerKeys();

  return async (req, res, target) => {
    if (!req.is('application/x-www-form-urlencoded')) return false;
    const raw = await readBody(req);
    if (raw === undefined) {
      res
        .status(413)
        .set('Cache-Control', 'no-store')
        .json(microsoftErrorBody('invalid_request', { code: 90100, text: 'Invalid request. The request body is too large.' }));
      return true;
    }
    const body = new URLSearchParams(raw.toString('utf8'));
    const clientId = body.get('client_id') ?? '';
    const assertion = body.get('client_assertion');
    const secretSent = body.has('client_secret');
    context.recordSecret(assertion);
    context.recordSecret(body.get('client_secret'));
    const parts = assertion === null ? undefined : decoded(assertion);
    const record: ClientAuthenticationRecord = {
      clientAuthentication: 'none',
      clientSecretSent: secretSent,
      assertionHeader: parts?.header,
      assertionClaims: parts?.claims,
    };
    records.set(req, record);

    const refuse = (refusal: CredentialRefusal): true => {
      context.recordTokenRequest({
        grantType: body.get('grant_type') ?? undefined,
        codeVerifier: body.get('code_verifier') ?? undefined,
        codeChallenge: undefined,
        scope: body.get('scope') ?? undefined,
        resource: undefined,
        status: refusal.status,
        clientPort: req.socket.remotePort,
        ...record,
      });
      res.status(refusal.status).set('Cache-Control', 'no-store').json(microsoftErrorBody(refusal.error, refusal.aad));
      return true;
    };

    const client = context.clients.find((candidate) => candidate.clientId === clientId);
    if (assertion === null) {
      if (secretSent) record.clientAuthentication = 'secret';
      // oidc-provider checks the secret (AADSTS7000215 when wrong) and answers an unknown client (AADSTS700016).
      if (client === undefined || secretSent) {
        replayBody(req, raw);
        return false;
      }
      return refuse(CREDENTIAL_REFUSALS.noCredential());
    }
    if (client === undefined) {
      replayBody(req, raw);
      return false;
    }
    // A secret beside an assertion is judged as a secret and refused (microsoft-identity-web#3212: AADSTS7000215).
    if (secretSent) return refuse(CREDENTIAL_REFUSALS.invalidSecret(clientId));
    if (body.get('client_assertion_type') !== JWT_BEARER) return refuse(CREDENTIAL_REFUSALS.wrongAssertionType());
    if (parts === undefined) return refuse(CREDENTIAL_REFUSALS.malformed());

    const now = Math.floor(Date.now() / 1000);
    // A certificate assertion names the app as its issuer and the certificate in its header; anything else is a platform's token.
    const byCertificate = parts.claims.iss === clientId || 'x5t' in parts.header || 'x5t#S256' in parts.header;
    record.clientAuthentication = byCertificate ? 'certificate' : 'federated';
    const refusal = byCertificate
      ? await checkCertificateAssertion(
          {
            clientId,
            assertion,
            ...parts,
            now,
            acceptedAudiences: [target.tenantSegment, TENANT_ID, TENANT_DOMAIN].map((segment) =>
              target.tokenUrl.replace(`/${target.tenantSegment}/`, `/${segment}/`),
            ),
          },
          certificates.get(client) ?? [],
          usedIds,
        )
      : await checkFederatedAssertion({ assertion, ...parts, now }, client.federatedCredentials ?? [], issuerKeys);
    if (refusal !== undefined) return refuse(refusal);

    body.delete('client_assertion');
    body.delete('client_assertion_type');
    body.set('client_secret', tokenEndpointSecretOf(client));
    replayBody(req, Buffer.from(body.toString()));
    return false;
  };
}
