import http from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';

/** The audience Microsoft requires of a federated credential. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/**
 * A stand-in for a platform that issues workload tokens (a Kubernetes cluster's service-account issuer, GitHub Actions):
 * an OpenID issuer on loopback serving its discovery document and key set, and signing tokens with RS256.
 */
export interface WorkloadPlatform {
  readonly issuer: string;
  /** A token for `subject`, as the platform would project it into the workload's token file. */
  issueToken(
    subject: string,
    options?: { audience?: string | string[]; expiresInSeconds?: number; signedByUnpublishedKey?: boolean },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startWorkloadPlatform(): Promise<WorkloadPlatform> {
  const published = await generateKeyPair('RS256', { extractable: true });
  const unpublished = await generateKeyPair('RS256');
  const kid = crypto.randomUUID();
  const jwk = { ...(await exportJWK(published.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server = http.createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ issuer: origin, jwks_uri: `${origin}/openid/v1/jwks`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/openid/v1/jwks') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    issueToken(subject, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const key: CryptoKey = options.signedByUnpublishedKey ? unpublished.privateKey : published.privateKey;
      return new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(issuer)
        .setSubject(subject)
        .setAudience(options.audience ?? TOKEN_EXCHANGE_AUDIENCE)
        .setJti(crypto.randomUUID())
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
        .sign(key);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
