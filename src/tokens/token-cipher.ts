import crypto from 'node:crypto';
import { memoizeBounded } from '../bounded-memo.ts';

/** A stored token cannot be decrypted: wrong key, tampered, or moved to another row. */
export class TokenDecryptError extends Error {
  override name = 'TokenDecryptError';
}

export interface TokenCipher {
  /** AES-256-GCM with a fresh 96-bit IV; `context` is bound as additional authenticated data. */
  seal(plaintext: string, context: string): string;
  /** Opens what seal wrote, with the key its id names; throws TokenDecryptError on any mismatch. */
  open(sealed: string, context: string): string;
}

const VERSION = 'v1';

/** The columns of a token set that hold sealed tokens. */
export type TokenColumn = 'accessToken' | 'refreshToken' | 'idToken';

/** How the context of a stored refresh token ends (tokenContext). */
const REFRESH_TOKEN_CONTEXT_END = '/refreshToken';

/** The context a stored token is sealed under: its user and column, so a value moved to another row or column fails to open. */
export function tokenContext(user: { readonly tenantId: string; readonly objectId: string }, column: TokenColumn): string {
  return `${user.tenantId}/${user.objectId}/${column}`;
}

/**
 * The context of an access token for another resource: its user and its scope set (resource and permissions), so a
 * value moved to another user's or another resource's row fails to open.
 */
export function resourceTokenContext(user: { readonly tenantId: string; readonly objectId: string }, scopeKey: string): string {
  return `${user.tenantId}/${user.objectId}/resourceToken/${scopeKey}`;
}

/** A short, non-secret id for a key, stored beside each ciphertext so keys can rotate. */
export function keyIdOf(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/** Encrypts with the first key; decrypts with any key in the list. */
export function createTokenCipher(keys: readonly Buffer[]): TokenCipher {
  const [current] = keys;
  if (current === undefined || keys.some((key) => key.length !== 32)) throw new Error('Token encryption keys must be 32 bytes each.');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]));
  const currentId = keyIdOf(current);

  return {
    seal(plaintext, context) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        VERSION,
        currentId,
        iv.toString('base64url'),
        ciphertext.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed, context) {
      const [version, keyId, iv, ciphertext, tag, ...rest] = sealed.split('.');
      if (
        version !== VERSION ||
        keyId === undefined ||
        iv === undefined ||
        ciphertext === undefined ||
        tag === undefined ||
        rest.length > 0
      ) {
        throw new TokenDecryptError('The stored token is not in the expected format.');
      }
      const key = byId.get(keyId);
      if (key === undefined) throw new TokenDecryptError(`The stored token was encrypted with key ${keyId}, which is not configured.`);
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new TokenDecryptError('The stored token failed its integrity check.', { cause: error });
      }
    },
  };
}

/**
 * `cipher` whose `open` remembers what it opened for the last `limit` sealed values with their contexts: a signed-in
 * page opens the same stored tokens on every load until they change. A sealed value opens to the same text under the
 * same context with the same keys (which do not change while the app runs); a new ciphertext (a refresh, another
 * row) is opened afresh, and a failure is never remembered. The key is length-prefixed, so no two pairs share one.
 * Refresh tokens are opened every time and never kept: the long-lived credential stays sealed in memory too, and the
 * page only needs to know one opens.
 */
export function rememberOpenedTokens(cipher: TokenCipher, limit = 64): TokenCipher {
  const open = memoizeBounded(limit, (key) => {
    const separator = key.indexOf(':');
    const contextEnd = separator + 1 + Number(key.slice(0, separator));
    return cipher.open(key.slice(contextEnd), key.slice(separator + 1, contextEnd));
  });
  return {
    seal: (plaintext, context) => cipher.seal(plaintext, context),
    open: (sealed, context) =>
      context.endsWith(REFRESH_TOKEN_CONTEXT_END) ? cipher.open(sealed, context) : open(`${context.length}:${context}${sealed}`),
  };
}
