import type { StoreDatabase } from '../db/database.ts';
import { isDatabaseBusy } from '../db/database-errors.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import { sql } from '../db/sql.ts';
import type { SqlDatabase, SqlRow } from '../db/sql.ts';
import type { TokenCipher } from './token-cipher.ts';
import { resourceTokenContext, TokenDecryptError, tokenContext } from './token-cipher.ts';
import type { TokenColumn } from './token-cipher.ts';

/** What a rotation did, row by row. */
export interface RotationReport {
  /** Token sets now sealed under the current key. */
  readonly reencrypted: number;
  /** Token sets no configured key could open; left as they are (their users must sign in again). */
  readonly unreadable: number;
  /** Tokens for other resources (ResourceToken rows): re-encrypted, and unreadable (left as they are: got again when asked for). */
  readonly resourceTokens?: { readonly reencrypted: number; readonly unreadable: number };
}

const TOKEN_COLUMNS: readonly TokenColumn[] = ['accessToken', 'refreshToken', 'idToken'];

/** How long a rotation waits by default for another connection (a backup, the sqlite3 shell) to let go of the database. */
export const DEFAULT_ROTATION_WAIT_MS = 60_000;

export interface RotationOptions {
  /** How long to wait for another connection's write lock (re-encryption, VACUUM) or read (the checkpoint). */
  readonly waitMs?: number;
  /** Called once when erasing the old ciphertexts must wait for another connection's read to end. */
  readonly onWaiting?: () => void;
}

/** The database stayed busy past the wait: `report` says what was done, `stage` which step could not finish. */
export class RotationBlockedError extends Error {
  constructor(
    /** `reencrypt`: some token sets still carry an old key; `erase`: all are re-encrypted, old ciphertexts remain in the files. */
    readonly stage: 'reencrypt' | 'erase',
    readonly report: RotationReport,
    /** Token sets found at the start. */
    readonly total: number,
    options: { cause?: unknown } = {},
  ) {
    super(`key rotation blocked by another database connection (${stage})`, options);
    this.name = 'RotationBlockedError';
  }
}

/** A row's sealed column (stored data is input): text, or null where the column may be empty. */
function sealedColumn(row: SqlRow, column: string): string | null {
  const value = row[column];
  if (value === null || typeof value === 'string') return value;
  throw new Error(`The stored ${column} is not text.`);
}

/** The row's user and version: what its tokens are sealed under, and what the update waits to find unchanged. */
function rowKey(row: SqlRow): { id: string; updatedAt: Date; user: { tenantId: string; objectId: string } } {
  const { id, updatedAt, tenantId, objectId } = row;
  if (typeof id !== 'string' || !(updatedAt instanceof Date) || typeof tenantId !== 'string' || typeof objectId !== 'string')
    throw new Error('A stored token row has no id, version or user.');
  return { id, updatedAt, user: { tenantId, objectId } };
}

/**
 * Re-encrypts every stored token under the cipher's current key (the first in its list), one row
 * per transaction; a row keeps its user binding, since the context is the same (tenant/oid/column, or tenant/oid and
 * the scope set for a token for another resource). Then rebuilds the SQLite file and empties its WAL, so no page sealed with an old key remains in them.
 * Waits for other connections up to `waitMs`; then throws RotationBlockedError, saying how far it got.
 */
export async function reencryptTokens(
  database: StoreDatabase,
  cipher: TokenCipher,
  options: RotationOptions = {},
): Promise<RotationReport> {
  const waitMs = options.waitMs ?? DEFAULT_ROTATION_WAIT_MS;
  const rows = await database.sql.queryRows(
    sql`SELECT t."id", t."accessToken", t."refreshToken", t."idToken", t."updatedAt", u."tenantId", u."objectId"
      FROM "TokenSet" t JOIN "User" u ON u."id" = t."userId" ORDER BY t."id"`,
  );
  let reencrypted = 0;
  let unreadable = 0;
  for (const row of rows) {
    const { id, updatedAt, user } = rowKey(row);
    const sealed: Record<TokenColumn, string | null> = { accessToken: null, refreshToken: null, idToken: null };
    try {
      for (const column of TOKEN_COLUMNS) {
        const value = sealedColumn(row, column);
        const context = tokenContext(user, column);
        sealed[column] = value === null ? null : cipher.seal(cipher.open(value, context), context);
      }
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      unreadable += 1;
      continue;
    }
    // Only if nobody replaced the row meanwhile (a sign-in writes a fresh set under the current key anyway).
    const count = await retryWhenBusy(
      () =>
        database.sql.run(sql`
          UPDATE "TokenSet" SET "accessToken" = ${sealed.accessToken}, "refreshToken" = ${sealed.refreshToken},
            "idToken" = ${sealed.idToken}, "updatedAt" = ${new Date()}
          WHERE "id" = ${id} AND "updatedAt" = ${updatedAt}`),
      { timeoutMs: waitMs },
    ).catch((error: unknown) => {
      throw isDatabaseBusy(error)
        ? new RotationBlockedError('reencrypt', { reencrypted, unreadable }, rows.length, { cause: error })
        : error;
    });
    reencrypted += count;
  }
  const resourceTokens = await reencryptResourceTokens(database.sql, cipher, waitMs).catch((error: unknown) => {
    throw isDatabaseBusy(error) ? new RotationBlockedError('reencrypt', { reencrypted, unreadable }, rows.length, { cause: error }) : error;
  });
  const report = { reencrypted, unreadable, resourceTokens };
  // The old ciphertexts stay in freed pages and WAL frames until the file is rebuilt and the WAL emptied.
  const erased = await database.compact({ waitMs, onWaiting: options.onWaiting }).catch((error: unknown) => {
    throw isDatabaseBusy(error) ? new RotationBlockedError('erase', report, rows.length, { cause: error }) : error;
  });
  if (!erased) throw new RotationBlockedError('erase', report, rows.length);
  return report;
}

/** The access tokens for other resources, re-encrypted row by row like the token sets. */
async function reencryptResourceTokens(
  database: SqlDatabase,
  cipher: TokenCipher,
  waitMs: number,
): Promise<NonNullable<RotationReport['resourceTokens']>> {
  const rows = await database.queryRows(
    sql`SELECT r."id", r."scopeKey", r."accessToken", r."updatedAt", u."tenantId", u."objectId"
      FROM "ResourceToken" r JOIN "User" u ON u."id" = r."userId" ORDER BY r."id"`,
  );
  let reencrypted = 0;
  let unreadable = 0;
  for (const row of rows) {
    const { id, updatedAt, user } = rowKey(row);
    const { scopeKey } = row;
    const sealedToken = sealedColumn(row, 'accessToken');
    if (typeof scopeKey !== 'string' || sealedToken === null) throw new Error('A stored resource token has no scope set or token.');
    const context = resourceTokenContext(user, scopeKey);
    let accessToken: string;
    try {
      accessToken = cipher.seal(cipher.open(sealedToken, context), context);
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      unreadable += 1;
      continue;
    }
    const count = await retryWhenBusy(
      () =>
        database.run(
          sql`UPDATE "ResourceToken" SET "accessToken" = ${accessToken}, "updatedAt" = ${new Date()} WHERE "id" = ${id} AND "updatedAt" = ${updatedAt}`,
        ),
      { timeoutMs: waitMs },
    );
    reencrypted += count;
  }
  return { reencrypted, unreadable };
}
