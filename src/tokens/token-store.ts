import type { Database } from '../db.ts';
import type { TokenResponse } from '../auth/oauth-client.ts';
import type { VerifiedIdentity } from '../auth/id-token.ts';
import type { TokenCipher } from './token-cipher.ts';
import { TokenDecryptError } from './token-cipher.ts';
import { retryWhenBusy } from '../database-retry.ts';

/** The signed-in user and their current tokens, decrypted, as the page shows them. */
export interface StoredSignIn {
  readonly user: { id: string; tenantId: string; objectId: string; displayName: string; username: string };
  /** undefined when the stored tokens cannot be decrypted (key rotated away, tampered): sign in again. */
  readonly tokens: { accessToken: string; tokenType: string; scopes: string[]; expiresAt: Date; hasRefreshToken: boolean; updatedAt: Date } | undefined;
}

export interface TokenStore {
  /** Upserts the user by (tenantId, objectId) and replaces their token set, in one transaction. Returns the user id. */
  saveSignIn(identity: VerifiedIdentity, tokens: TokenResponse, now: Date): Promise<string>;
  /** Reads a user and their tokens back from the database. */
  loadSignIn(userId: string): Promise<StoredSignIn | undefined>;
}

/** Binds a ciphertext to its user and column, so a value moved elsewhere fails to decrypt. */
function contextOf(tenantId: string, objectId: string, column: string): string {
  return `${tenantId}/${objectId}/${column}`;
}

export function createTokenStore(database: Database, cipher: TokenCipher): TokenStore {
  return {
    async saveSignIn(identity, tokens, now) {
      const seal = (value: string, column: string) => cipher.seal(value, contextOf(identity.tenantId, identity.objectId, column));
      const tokenFields = {
        accessToken: seal(tokens.accessToken, 'accessToken'),
        refreshToken: tokens.refreshToken === undefined ? null : seal(tokens.refreshToken, 'refreshToken'),
        idToken: seal(tokens.idToken, 'idToken'),
        tokenType: tokens.tokenType,
        scopes: tokens.scopes.join(' '),
        expiresAt: new Date(now.getTime() + tokens.expiresIn * 1000),
      };
      const profile = { displayName: identity.displayName, username: identity.username };
      const user = await retryWhenBusy(() => database.user.upsert({
        where: { tenantId_objectId: { tenantId: identity.tenantId, objectId: identity.objectId } },
        create: { tenantId: identity.tenantId, objectId: identity.objectId, ...profile, tokenSet: { create: tokenFields } },
        update: { ...profile, tokenSet: { upsert: { create: tokenFields, update: tokenFields } } },
        select: { id: true },
      }));
      return user.id;
    },

    async loadSignIn(userId) {
      const user = await database.user.findUnique({ where: { id: userId }, include: { tokenSet: true } });
      if (user === null) return undefined;
      const { tokenSet, createdAt: _created, updatedAt: _updated, ...profile } = user;
      if (tokenSet === null) return { user: profile, tokens: undefined };
      try {
        return {
          user: profile,
          tokens: {
            accessToken: cipher.open(tokenSet.accessToken, contextOf(user.tenantId, user.objectId, 'accessToken')),
            tokenType: tokenSet.tokenType,
            scopes: tokenSet.scopes.split(' ').filter(Boolean),
            expiresAt: tokenSet.expiresAt,
            hasRefreshToken: tokenSet.refreshToken !== null,
            updatedAt: tokenSet.updatedAt,
          },
        };
      } catch (error) {
        if (error instanceof TokenDecryptError) return { user: profile, tokens: undefined };
        throw error;
      }
    },
  };
}
