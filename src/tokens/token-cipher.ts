import crypto from 'node:crypto';
import { createBoundedMap } from '../bounded-memo.ts';
import { randomBytes } from '../random-token.ts';

/** A stored token cannot be decrypted: wrong key, tampered, or moved to another row. */
export class TokenDecryptError extends Error {
  override name = 'TokenDecryptError';
}

export interface TokenCipher {
  /** AES-256-GCM with a fresh 96-bit IV; `context` is bound as additional authenticated data. */
  seal(plaintext: string, context: string): string;
  /** Opens what seal wrote, with the key its id names; throws TokenDecryptError on any mismatch. */
  open(sealed: string, context: string): string;
  /** Throws TokenDecryptError when `sealed` does not open under `context`, as `open` would; returns nothing of what it holds. */
  verify(sealed: string, context: string): void;
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

  const open = (sealed: string, context: string): string => {
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
  };

  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
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
    open,
    verify(sealed, context) {
      open(sealed, context);
    },
  };
}

/**
 * `cipher` that remembers, per context (a user's column, or their token for one resource), the last sealed value that
 * opened there: a signed-in page opens the same stored tokens on every load until they change. A sealed value opens to
 * the same text under the same context with the same keys (which do not change while the app runs); another
 * ciphertext (a refresh, a value moved from another row) is opened afresh, and a failure is never remembered. The
 * compared value is the whole sealed text, so a tampered one never matches.
 * Refresh tokens are opened every time and never kept: the long-lived credential stays sealed in memory too. Only that
 * one `verify`ed is remembered (a page needs only to know it opens), never its text.
 * What `seal` returns is remembered too, as opening (or, for a refresh token, verified) under its context.
 */
export function rememberOpenedTokens(cipher: TokenCipher, limit = 64): TokenCipher {
  const opened = createBoundedMap<{ readonly sealed: string; readonly plaintext: string }>(limit);
  const verified = createBoundedMap<string>(limit);
  return {
    seal(plaintext, context) {
      // What this process seals is known to open: the signed-in page after a sign-in or a refresh reads it back as is.
      const sealed = cipher.seal(plaintext, context);
      if (context.endsWith(REFRESH_TOKEN_CONTEXT_END)) verified.set(context, sealed);
      else opened.set(context, { sealed, plaintext });
      return sealed;
    },
    open(sealed, context) {
      if (context.endsWith(REFRESH_TOKEN_CONTEXT_END)) return cipher.open(sealed, context);
      const kept = opened.get(context);
      if (kept !== undefined && kept.sealed === sealed) return kept.plaintext;
      const plaintext = cipher.open(sealed, context);
      opened.set(context, { sealed, plaintext });
      return plaintext;
    },
    verify(sealed, context) {
      if (verified.get(context) === sealed) return;
      cipher.verify(sealed, context);
      verified.set(context, sealed);
    },
  };
}
