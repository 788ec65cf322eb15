import { createTokenCipher, resourceTokenContext, tokenContext } from '../../src/tokens/token-cipher.ts';
import type { TokenColumn } from '../../src/tokens/token-cipher.ts';
import type { Harness } from './harness.ts';

/** The single stored token set, decrypted as the app would, and a way to seal replacement values into it. */
export async function readStoredTokens(harness: Harness) {
  const user = await harness.database.prisma.user.findFirstOrThrow({ include: { tokenSet: true } });
  const cipher = createTokenCipher([harness.config.tokenEncryptionKey]);
  const open = (column: TokenColumn, value: string) => cipher.open(value, tokenContext(user, column));
  return {
    row: user.tokenSet!,
    accessToken: open('accessToken', user.tokenSet!.accessToken),
    refreshToken: open('refreshToken', user.tokenSet!.refreshToken!),
    /** Opened when read, so a test that tampered with the ID token can still read the rest. */
    get idToken() {
      return open('idToken', user.tokenSet!.idToken);
    },
    seal: (column: 'accessToken' | 'refreshToken', value: string) => cipher.seal(value, tokenContext(user, column)),
  };
}

/** The single stored user's tokens for other resources, decrypted as the app would, by scope key. */
export async function readResourceTokens(harness: Harness) {
  const user = await harness.database.prisma.user.findFirstOrThrow({ include: { resourceTokens: { orderBy: { scopeKey: 'asc' } } } });
  const cipher = createTokenCipher([harness.config.tokenEncryptionKey]);
  return user.resourceTokens.map((row) => ({ row, accessToken: cipher.open(row.accessToken, resourceTokenContext(user, row.scopeKey)) }));
}

/**
 * What a refused or forged request must leave as it was: the single user's refresh and access tokens, sign-in flag and
 * lease, and their tokens for other resources.
 */
export async function readGrantState(harness: Harness) {
  const stored = await readStoredTokens(harness);
  return {
    refreshToken: stored.refreshToken,
    accessToken: stored.accessToken,
    needsSignIn: stored.row.needsSignIn,
    refreshLeaseUntil: stored.row.refreshLeaseUntil,
    resourceTokens: (await readResourceTokens(harness)).map((token) => [token.row.scopeKey, token.accessToken]),
  };
}
