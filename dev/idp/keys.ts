// Development only: RSA signing keys of the local identity provider, generated at start and never written to disk.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';

/** An RS256 key pair with its kid and private JWK. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Private JWK (with kid, use, alg) in the form oidc-provider's `jwks` option expects. */
  privateJwk: JWK;
}

/** Generates a fresh RS256 signing key whose kid is its JWK thumbprint. */
export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, privateJwk };
}
