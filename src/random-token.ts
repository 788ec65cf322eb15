import crypto from 'node:crypto';

/**
 * 32 bytes from the CSPRNG, base64url (43 characters): 256 bits for every value an attacker must not guess — the
 * sign-in's state, nonce and PKCE verifier, the admin-consent state, the CSRF token.
 */
export function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}
