import type { Database } from '../db/database.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import { compactDatabase } from '../db/sqlite-settings.ts';
import type { TokenCipher } from './token-cipher.ts';
import { resourceTokenContext, TokenDecryptError, tokenContext } from './token-cipher.ts';
import type { TokenColumn } from './token-cipher.ts';

/** What a rotation did, row by row. */
export interface RotationReport {
  /** Token sets and tokens for other resources now sealed under the current key. */
  readonly reencrypted: number;
  /** Token sets and tokens for other resources no configured key could open; left as they are (sign in, or get them again). */
  readonly unreadable: number;
}

const TOKEN_COLUMNS: readonly TokenColumn[] = ['accessToken', 'refreshToken', 'idToken'];

/**
 * Re-encrypts every stored token under the cipher's current key (the first in its list), one row
 * per transaction; a row keeps its user binding, since the context is the same (tenant/oid/column, or
 * tenant/oid and the scope set for another resource's token). Then rebuilds the SQLite file, so no page sealed with an
 * old key remains in it.
 */
export async function reencryptTokens(database: Database, cipher: TokenCipher): Promise<RotationReport> {
  const rows = await database.tokenSet.findMany({ include: { user: { select: { tenantId: true, objectId: true } } } });
  let reencrypted = 0;
  let unreadable = 0;
  for (const row of rows) {
    const sealed: Partial<Record<TokenColumn, string>> = {};
    try {
      for (const column of TOKEN_COLUMNS) {
        const value = row[column];
        const context = tokenContext(row.user, column);
        if (value !== null) sealed[column] = cipher.seal(cipher.open(value, context), context);
      }
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      unreadable += 1;
      continue;
    }
    // Only if nobody replaced the row meanwhile (a sign-in writes a fresh set under the current key anyway).
    const { count } = await database.tokenSet.updateMany({ where: { id: row.id, updatedAt: row.updatedAt }, data: sealed });
    reencrypted += count;
  }
  const resourceTokens = await database.resourceToken.findMany({ include: { user: { select: { tenantId: true, objectId: true } } } });
  for (const row of resourceTokens) {
    const context = resourceTokenContext(row.user, row.scopeKey);
    let accessToken: string;
    try {
      accessToken = cipher.seal(cipher.open(row.accessToken, context), context);
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      unreadable += 1;
      continue;
    }
    const { count } = await database.resourceToken.updateMany({ where: { id: row.id, updatedAt: row.updatedAt }, data: { accessToken } });
    reencrypted += count;
  }
  // The old ciphertexts stay in freed pages and WAL frames until the file is rebuilt.
  await retryWhenBusy(() => compactDatabase(database));
  return { reencrypted, unreadable };
}
