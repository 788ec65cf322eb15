import crypto from 'node:crypto';
import { sql } from '../db/sql.ts';
import type { SqlDatabase, SqlQueries, SqlRow } from '../db/sql.ts';
import type { RefreshResponse, TokenResponse } from '../auth/oauth-client.ts';
import { isBearerToken } from '../auth/bearer-token.ts';
import type { VerifiedIdentity } from '../auth/id-token.ts';
import type { TokenCipher } from './token-cipher.ts';
import { TokenDecryptError, tokenContext } from './token-cipher.ts';
import { retryWhenBusy } from '../db/database-retry.ts';

export interface StoredUser {
  readonly id: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly username: string;
}

/**
 * A stored refresh token, checked to open under its user and column but still sealed: it is opened only when a refresh
 * redeems it, so the long-lived credential is not decrypted on every page view nor held in memory in the clear.
 */
export interface SealedRefreshToken {
  open(): string;
}

/** A user's current tokens, decrypted (the refresh token only when a refresh opens it). */
export interface StoredTokens {
  readonly accessToken: string;
  readonly refreshToken: SealedRefreshToken | undefined;
  readonly idToken: string;
  readonly tokenType: string;
  readonly scopes: string[];
  readonly expiresAt: Date;
  /** A refresh failed with invalid_grant: only a new sign-in helps. */
  readonly needsSignIn: boolean;
  readonly updatedAt: Date;
}

/** What a redemption needs of the user's token set: the one refresh token, the ID token, and its version (updatedAt). */
export interface StoredGrant {
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  /** The default resource's refresh was refused (invalid_grant): only a new sign-in helps. */
  readonly needsSignIn: boolean;
  /** Changes with every write to the token set: the refresh lease is taken only on the version a caller read. */
  readonly updatedAt: Date;
}

/** The signed-in user and their current tokens, read back from the database. */
export interface StoredSignIn {
  readonly user: StoredUser;
  /** undefined when there are none, or they cannot be decrypted (key rotated away, tampered): sign in again. */
  readonly tokens: StoredTokens | undefined;
}

export interface TokenStore {
  /**
   * Upserts the user by (tenantId, objectId) and replaces their token set, in one transaction. Returns the user id.
   * `alsoWithin` runs in that transaction after them (the callback writes the signed-in session there): all or nothing.
   */
  saveSignIn(
    identity: VerifiedIdentity,
    tokens: TokenResponse,
    now: Date,
    alsoWithin?: (transaction: SqlQueries, userId: string) => Promise<void>,
  ): Promise<string>;
  /**
   * Takes the user's refresh lease until `until` when nobody holds a live one (across processes sharing the database)
   * and the token set is still the one the caller read (its `updatedAt`): a refresh that another process finished in
   * between must not be followed by a second one with the spent refresh token.
   * Returns the lease to pass to the writes below, or undefined when another refresh is under way or happened.
   */
  acquireRefreshLease(userId: string, until: Date, now: Date, seenUpdatedAt: Date): Promise<Date | undefined>;
  /** Gives the lease back without writing tokens (the refresh failed for a passing reason). */
  releaseRefreshLease(userId: string, lease: Date, now: Date): Promise<void>;
  /**
   * Replaces the token set after a refresh in one update, keeping the refresh and ID tokens Microsoft did not resend
   * (and the access token with its expiry when the answer had no usable one), and releases the lease.
   * Returns undefined, writing nothing, when the lease was lost (a new sign-in replaced the set).
   */
  saveRefreshedTokens(
    user: StoredUser,
    previous: StoredTokens,
    tokens: RefreshResponse,
    now: Date,
    lease: Date,
  ): Promise<StoredTokens | undefined>;
  /** Marks the token set as needing a new sign-in (refresh token revoked or expired) while the lease is still held. */
  markNeedsSignIn(userId: string, lease: Date, now: Date): Promise<void>;
  /** Reads a user and their tokens back from the database. */
  loadSignIn(userId: string): Promise<StoredSignIn | undefined>;
  /** Every stored user, oldest first. */
  listUsers(): Promise<StoredUser[]>;
  /**
   * Deletes the user and, with them, their tokens, leaving nothing recoverable in the database files. Resolves true
   * when that holds already; false when another connection reading an older snapshot (a backup) keeps the deleted
   * bytes in the SQLite WAL: the checkpoint then retries on its own until that connection ends.
   */
  forgetUser(userId: string): Promise<boolean>;
}

/** A text column of a row read back (stored data is input): its string, or an error naming the column. */
function text(row: SqlRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`The stored ${column} is not text.`);
  return value;
}

/** A date column of a row read back: a valid Date, or an error naming the column. */
function date(row: SqlRow, column: string): Date {
  const value = row[column];
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new Error(`The stored ${column} is not a date.`);
  return value;
}

/** The columns of a user, from the table aliased `u`: what readStoredUser reads. */
export const USER_COLUMNS = sql`u."id", u."tenantId", u."objectId", u."displayName", u."username"`;

/** The columns of a user (`u`) and their token set (`t`, LEFT JOINed): what readStoredSignIn reads. */
export const SIGN_IN_COLUMNS = sql`${USER_COLUMNS}, t."accessToken", t."refreshToken", t."idToken", t."tokenType", t."scopes",
  t."expiresAt", t."needsSignIn", t."updatedAt"`;

/** The columns of a user (`u`) and the grant of their token set (`t`, LEFT JOINed): what readStoredGrant reads. */
export const GRANT_COLUMNS = sql`${USER_COLUMNS}, t."refreshToken", t."idToken", t."needsSignIn", t."updatedAt" AS "grantUpdatedAt"`;

/** A user read back from the columns of USER_COLUMNS, each checked. */
export function readStoredUser(row: SqlRow): StoredUser {
  return {
    id: text(row, 'id'),
    tenantId: text(row, 'tenantId'),
    objectId: text(row, 'objectId'),
    displayName: text(row, 'displayName'),
    username: text(row, 'username'),
  };
}

/** `user`'s sealed refresh token, kept sealed until a refresh opens it. */
function sealedRefreshToken(cipher: TokenCipher, user: StoredUser, sealed: string): SealedRefreshToken {
  return { open: () => cipher.open(sealed, tokenContext(user, 'refreshToken')) };
}

/** A stored refresh token of `user` read back: checked to open now (TokenDecryptError otherwise), opened only when used. */
function readSealedRefreshToken(cipher: TokenCipher, user: StoredUser, sealed: string): SealedRefreshToken {
  cipher.verify(sealed, tokenContext(user, 'refreshToken'));
  return sealedRefreshToken(cipher, user, sealed);
}

/**
 * A user and their tokens read back from the columns of SIGN_IN_COLUMNS: tokens undefined when there are none, when
 * they do not open with the configured keys under this user, or when the access token is no RFC 6750 token.
 */
export function readStoredSignIn(row: SqlRow, cipher: TokenCipher): StoredSignIn {
  const user = readStoredUser(row);
  if (row.accessToken === null) return { user, tokens: undefined };
  try {
    const accessToken = cipher.open(text(row, 'accessToken'), tokenContext(user, 'accessToken'));
    // Stored data is input: what is no bearer token (written behind the app's back) is never shown or sent.
    if (!isBearerToken(accessToken)) return { user, tokens: undefined };
    return {
      user,
      tokens: {
        accessToken,
        refreshToken: row.refreshToken === null ? undefined : readSealedRefreshToken(cipher, user, text(row, 'refreshToken')),
        idToken: cipher.open(text(row, 'idToken'), tokenContext(user, 'idToken')),
        tokenType: text(row, 'tokenType'),
        scopes: text(row, 'scopes').split(' ').filter(Boolean),
        expiresAt: date(row, 'expiresAt'),
        needsSignIn: row.needsSignIn === true,
        updatedAt: date(row, 'updatedAt'),
      },
    };
  } catch (error) {
    if (error instanceof TokenDecryptError) return { user, tokens: undefined };
    throw error;
  }
}

/** The grant read back from the columns of GRANT_COLUMNS, decrypted; undefined when there is none or it does not open. */
export function readStoredGrant(user: StoredUser, row: SqlRow, cipher: TokenCipher): StoredGrant | undefined {
  if (row.idToken === null || row.idToken === undefined) return undefined;
  try {
    return {
      refreshToken: row.refreshToken === null ? undefined : cipher.open(text(row, 'refreshToken'), tokenContext(user, 'refreshToken')),
      idToken: cipher.open(text(row, 'idToken'), tokenContext(user, 'idToken')),
      needsSignIn: row.needsSignIn === true,
      updatedAt: date(row, 'grantUpdatedAt'),
    };
  } catch (error) {
    if (error instanceof TokenDecryptError) return undefined;
    throw error;
  }
}

/** Seals a token set's three tokens, each under its user and column. */
export function sealTokenSet(
  cipher: TokenCipher,
  user: { tenantId: string; objectId: string },
  tokens: { accessToken: string; refreshToken: string | undefined; idToken: string },
): { accessToken: string; refreshToken: string | null; idToken: string } {
  return {
    accessToken: cipher.seal(tokens.accessToken, tokenContext(user, 'accessToken')),
    refreshToken: tokens.refreshToken === undefined ? null : cipher.seal(tokens.refreshToken, tokenContext(user, 'refreshToken')),
    idToken: cipher.seal(tokens.idToken, tokenContext(user, 'idToken')),
  };
}

/**
 * In `transaction` (of the store for other resources): the refresh and ID tokens of a redemption or of a sign-in for
 * another resource become the user's, each only when the answer had one (Microsoft may rotate the refresh token on
 * every redemption: the newest is always kept). With `lease`, only while that lease is held, and it is released; without,
 * after an interactive sign-in, any refresh still running loses its lease and the set no longer needs a sign-in.
 * False, changing nothing, when the lease was lost or the user has no token set.
 */
export async function replaceGrant(
  transaction: SqlQueries,
  cipher: TokenCipher,
  user: StoredUser,
  grant: { refreshToken: string | undefined; idToken: string | undefined },
  options: { lease: Date | undefined; now: Date },
): Promise<boolean> {
  const refreshToken = grant.refreshToken === undefined ? null : cipher.seal(grant.refreshToken, tokenContext(user, 'refreshToken'));
  const idToken = grant.idToken === undefined ? null : cipher.seal(grant.idToken, tokenContext(user, 'idToken'));
  const { lease, now } = options;
  const changed = await transaction.run(
    lease === undefined
      ? sql`UPDATE "TokenSet" SET "refreshToken" = COALESCE(${refreshToken}, "refreshToken"), "idToken" = COALESCE(${idToken}, "idToken"),
          "needsSignIn" = ${false}, "refreshLeaseUntil" = ${null}, "updatedAt" = ${now}
        WHERE "userId" = ${user.id}`
      : sql`UPDATE "TokenSet" SET "refreshToken" = COALESCE(${refreshToken}, "refreshToken"), "idToken" = COALESCE(${idToken}, "idToken"),
          "refreshLeaseUntil" = ${null}, "updatedAt" = ${now}
        WHERE "userId" = ${user.id} AND "refreshLeaseUntil" = ${lease}`,
  );
  return changed === 1;
}

/**
 * The store of the User and TokenSet tables. Every statement goes through the seam (sql.ts); every write of a row sets
 * its `updatedAt` to the caller's `now` (a token set's version: the refresh lease is taken only on the version read).
 * `eraseDeletedData` (Database#eraseDeletedData) clears what a deleted user leaves in the database files.
 */
export function createTokenStore(
  database: SqlDatabase,
  cipher: TokenCipher,
  options: { eraseDeletedData?: () => boolean } = {},
): TokenStore {
  const eraseDeletedData = options.eraseDeletedData ?? (() => true);
  return {
    async saveSignIn(identity, tokens, now, alsoWithin) {
      const sealed = sealTokenSet(cipher, identity, tokens);
      const t = {
        accessToken: sealed.accessToken,
        refreshToken: sealed.refreshToken,
        idToken: sealed.idToken,
        tokenType: tokens.tokenType,
        scopes: tokens.scopes.join(' '),
        expiresAt: new Date(now.getTime() + tokens.expiresIn * 1000),
      };
      const { tenantId, objectId, displayName, username } = identity;
      // One transaction of two upserts (SQL valid on SQLite and PostgreSQL). A new sign-in wins over a refresh still
      // running: the lease is cleared, so that refresh no longer matches it.
      return retryWhenBusy(() =>
        database.transaction(async (transaction) => {
          const [user] = await transaction.queryRows(sql`
            INSERT INTO "User" ("id", "tenantId", "objectId", "displayName", "username", "createdAt", "updatedAt")
            VALUES (${crypto.randomUUID()}, ${tenantId}, ${objectId}, ${displayName}, ${username}, ${now}, ${now})
            ON CONFLICT ("tenantId", "objectId") DO UPDATE SET
              "displayName" = excluded."displayName", "username" = excluded."username", "updatedAt" = excluded."updatedAt"
            RETURNING "id"`);
          const userId = text(user ?? {}, 'id');
          await transaction.run(sql`
            INSERT INTO "TokenSet" ("id", "userId", "accessToken", "refreshToken", "idToken", "tokenType", "scopes", "expiresAt",
              "needsSignIn", "refreshLeaseUntil", "createdAt", "updatedAt")
            VALUES (${crypto.randomUUID()}, ${userId}, ${t.accessToken}, ${t.refreshToken}, ${t.idToken}, ${t.tokenType}, ${t.scopes},
              ${t.expiresAt}, ${false}, ${null}, ${now}, ${now})
            ON CONFLICT ("userId") DO UPDATE SET
              "accessToken" = excluded."accessToken", "refreshToken" = excluded."refreshToken", "idToken" = excluded."idToken",
              "tokenType" = excluded."tokenType", "scopes" = excluded."scopes", "expiresAt" = excluded."expiresAt",
              "needsSignIn" = excluded."needsSignIn", "refreshLeaseUntil" = excluded."refreshLeaseUntil", "updatedAt" = excluded."updatedAt"`);
          await alsoWithin?.(transaction, userId);
          return userId;
        }),
      );
    },

    async acquireRefreshLease(userId, until, now, seenUpdatedAt) {
      const count = await retryWhenBusy(() =>
        database.run(sql`
          UPDATE "TokenSet" SET "refreshLeaseUntil" = ${until}, "updatedAt" = ${now}
          WHERE "userId" = ${userId} AND "needsSignIn" = ${false} AND "updatedAt" = ${seenUpdatedAt}
            AND ("refreshLeaseUntil" IS NULL OR "refreshLeaseUntil" <= ${now})`),
      );
      return count === 1 ? until : undefined;
    },

    async releaseRefreshLease(userId, lease, now) {
      await retryWhenBusy(() =>
        database.run(sql`
          UPDATE "TokenSet" SET "refreshLeaseUntil" = ${null}, "updatedAt" = ${now}
          WHERE "userId" = ${userId} AND "refreshLeaseUntil" = ${lease}`),
      );
    },

    async saveRefreshedTokens(user, previous, tokens, now, lease) {
      // Without a usable new access token, the previous one stays with its own type, scopes and expiry.
      const { accessToken } = tokens;
      const plain = {
        accessToken: accessToken ?? previous.accessToken,
        // Microsoft may rotate the refresh token on every refresh: always keep the newest one.
        refreshToken: tokens.refreshToken ?? previous.refreshToken?.open(),
        idToken: tokens.idToken ?? previous.idToken,
      };
      const tokenType = accessToken === undefined ? previous.tokenType : tokens.tokenType;
      const scopes = accessToken !== undefined && tokens.scopes.length > 0 ? [...tokens.scopes] : previous.scopes;
      const expiresAt = accessToken === undefined ? previous.expiresAt : new Date(now.getTime() + tokens.expiresIn * 1000);
      const sealed = sealTokenSet(cipher, user, plain);
      // The old refresh token may already be spent upstream: a busy database must not lose the new one.
      const count = await retryWhenBusy(() =>
        database.run(sql`
          UPDATE "TokenSet" SET "accessToken" = ${sealed.accessToken}, "refreshToken" = ${sealed.refreshToken},
            "idToken" = ${sealed.idToken}, "tokenType" = ${tokenType}, "scopes" = ${scopes.join(' ')}, "expiresAt" = ${expiresAt},
            "needsSignIn" = ${false}, "refreshLeaseUntil" = ${null}, "updatedAt" = ${now}
          WHERE "userId" = ${user.id} AND "refreshLeaseUntil" = ${lease}`),
      );
      if (count === 0) return undefined;
      return {
        accessToken: plain.accessToken,
        refreshToken: sealed.refreshToken === null ? undefined : sealedRefreshToken(cipher, user, sealed.refreshToken),
        idToken: plain.idToken,
        tokenType,
        scopes,
        expiresAt,
        needsSignIn: false,
        updatedAt: now,
      };
    },

    async markNeedsSignIn(userId, lease, now) {
      await retryWhenBusy(() =>
        database.run(sql`
          UPDATE "TokenSet" SET "needsSignIn" = ${true}, "refreshLeaseUntil" = ${null}, "updatedAt" = ${now}
          WHERE "userId" = ${userId} AND "refreshLeaseUntil" = ${lease}`),
      );
    },

    async loadSignIn(userId) {
      // One query for the user and their token set.
      const [row] = await database.queryRows(
        sql`SELECT ${SIGN_IN_COLUMNS} FROM "User" u LEFT JOIN "TokenSet" t ON t."userId" = u."id" WHERE u."id" = ${userId}`,
      );
      return row === undefined ? undefined : readStoredSignIn(row, cipher);
    },

    async listUsers() {
      const rows = await database.queryRows(sql`SELECT ${USER_COLUMNS} FROM "User" u ORDER BY u."createdAt", u."id"`);
      return rows.map(readStoredUser);
    },

    async forgetUser(userId) {
      // The token set, tokens for other resources and admin-consent links go with the user (ON DELETE CASCADE).
      await retryWhenBusy(() => database.run(sql`DELETE FROM "User" WHERE "id" = ${userId}`));
      // secure_delete zeroed the rows in the pages written to the WAL; the checkpoint drops the older frames that held them.
      return eraseDeletedData();
    },
  };
}
