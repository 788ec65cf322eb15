import { createTokenCipher, tokenContext } from '../../src/tokens/token-cipher.ts';
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
