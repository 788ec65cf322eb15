import crypto from 'node:crypto';
import type { Database } from '../db/database.ts';
import { queryRows, runTransaction, sql } from '../db/direct-sql.ts';
import type { SqlRow } from '../db/direct-sql.ts';
import type { RefreshResponse, TokenResponse } from '../auth/oauth-client.ts';
import { isBearerToken } from '../auth/bearer-token.ts';
import type { VerifiedIdentity } from '../auth/id-token.ts';
import type { TokenCipher } from './token-cipher.ts';
import { TokenDecryptError, tokenContext } from './token-cipher.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import { checkpointDeletedData } from '../db/wal-checkpoint.ts';

export interface StoredUser {
  readonly id: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly username: string;
}

/** A user's current tokens, decrypted. */
export interface StoredTokens {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  readonly tokenType: string;
  readonly scopes: string[];
  readonly expiresAt: Date;
  /** A refresh failed with invalid_grant: only a new sign-in helps. */
  readonly needsSignIn: boolean;
  readonly updatedAt: Date;
}

/** The signed-in user and their current tokens, read back from the database. */
export interface StoredSignIn {
  readonly user: StoredUser;
  /** undefined when there are none, or they cannot be decrypted (key rotated away, tampered): sign in again. */
  readonly tokens: StoredTokens | undefined;
}

/** A session row read with what the signed-in page needs: `signIn` is set when the row names a user. */
export interface StoredSession {
  readonly data: unknown;
  readonly expiresAt: unknown;
  readonly destroyed: unknown;
  readonly signIn: PreloadedSignIn | undefined;
}

/** A user's sign-in read with their session: `signIn` is undefined when the user is gone (forgotten). */
export interface PreloadedSignIn {
  readonly userId: string;
  readonly signIn: StoredSignIn | undefined;
}

export interface TokenStore {
  /** Upserts the user by (tenantId, objectId) and replaces their token set, in one transaction. Returns the user id. */
  saveSignIn(identity: VerifiedIdentity, tokens: TokenResponse, now: Date): Promise<string>;
  /**
   * Takes the user's refresh lease until `until` when nobody holds a live one (across processes sharing the database)
   * and the token set is still the one the caller read (its `updatedAt`): a refresh that another process finished in
   * between must not be followed by a second one with the spent refresh token.
   * Returns the lease to pass to the writes below, or undefined when another refresh is under way or happened.
   */
  acquireRefreshLease(userId: string, until: Date, now: Date, seenUpdatedAt: Date): Promise<Date | undefined>;
  /** Gives the lease back without writing tokens (the refresh failed for a passing reason). */
  releaseRefreshLease(userId: string, lease: Date): Promise<void>;
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
  markNeedsSignIn(userId: string, lease: Date): Promise<void>;
  /** Reads a user and their tokens back from the database. */
  loadSignIn(userId: string): Promise<StoredSignIn | undefined>;
  /** Reads a session row together with its user's sign-in (as loadSignIn would give it), in one query. */
  readSessionWithSignIn(sid: string): Promise<StoredSession | undefined>;
  /** Every stored user, oldest first. */
  listUsers(): Promise<StoredUser[]>;
  /**
   * Deletes the user and, with them, their tokens, leaving nothing recoverable in the database files. Resolves true
   * when that holds already; false when another connection reading an older snapshot (a backup) keeps the deleted
   * bytes in the SQLite WAL: the checkpoint then retries on its own until that connection ends.
   */
  forgetUser(userId: string): Promise<boolean>;
}

const USER_FIELDS = { id: true, tenantId: true, objectId: true, displayName: true, username: true } as const;

function text(row: SqlRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`The stored ${column} is not text.`);
  return value;
}

function date(row: SqlRow, column: string): Date {
  const value = row[column];
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new Error(`The stored ${column} is not a date.`);
  return value;
}

/** A text column of a row read back (stored data is input): its string, or an error naming the column. */
export const storedText = text;
/** A date column of a row read back: a valid Date, or an error naming the column. */
export const storedDate = date;

export function createTokenStore(database: Database, cipher: TokenCipher): TokenStore {
  const sealTokens = (
    user: { tenantId: string; objectId: string },
    tokens: { accessToken: string; refreshToken: string | undefined; idToken: string },
  ) => ({
    accessToken: cipher.seal(tokens.accessToken, tokenContext(user, 'accessToken')),
    refreshToken: tokens.refreshToken === undefined ? null : cipher.seal(tokens.refreshToken, tokenContext(user, 'refreshToken')),
    idToken: cipher.seal(tokens.idToken, tokenContext(user, 'idToken')),
  });

  const signInFromRow = (row: SqlRow): StoredSignIn => {
    const user: StoredUser = {
      id: text(row, 'id'),
      tenantId: text(row, 'tenantId'),
      objectId: text(row, 'objectId'),
      displayName: text(row, 'displayName'),
      username: text(row, 'username'),
    };
    if (row.accessToken === null) return { user, tokens: undefined };
    try {
      const accessToken = cipher.open(text(row, 'accessToken'), tokenContext(user, 'accessToken'));
      // Stored data is input: what is no bearer token (written behind the app's back) is never shown or sent.
      if (!isBearerToken(accessToken)) return { user, tokens: undefined };
      return {
        user,
        tokens: {
          accessToken,
          refreshToken: row.refreshToken === null ? undefined : cipher.open(text(row, 'refreshToken'), tokenContext(user, 'refreshToken')),
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
  };

  return {
    async saveSignIn(identity, tokens, now) {
      const tokenFields = {
        ...sealTokens(identity, tokens),
        tokenType: tokens.tokenType,
        scopes: tokens.scopes.join(' '),
        expiresAt: new Date(now.getTime() + tokens.expiresIn * 1000),
        needsSignIn: false,
        // A new sign-in wins over a refresh still running: its lease no longer matches.
        refreshLeaseUntil: null,
      };
      const { tenantId, objectId, displayName, username } = identity;
      const t = tokenFields;
      // One transaction of two upserts (SQL valid on SQLite and PostgreSQL) instead of Prisma's nested upsert.
      return retryWhenBusy(() =>
        runTransaction(database, async (transaction) => {
          const [user] = await transaction.queryRows(sql`
            INSERT INTO "User" ("id", "tenantId", "objectId", "displayName", "username", "createdAt", "updatedAt")
            VALUES (${crypto.randomUUID()}, ${tenantId}, ${objectId}, ${displayName}, ${username}, ${now}, ${now})
            ON CONFLICT ("tenantId", "objectId") DO UPDATE SET
              "displayName" = excluded."displayName", "username" = excluded."username", "updatedAt" = excluded."updatedAt"
            RETURNING "id"`);
          const userId = text(user ?? {}, 'id');
          await transaction.runStatement(sql`
            INSERT INTO "TokenSet" ("id", "userId", "accessToken", "refreshToken", "idToken", "tokenType", "scopes", "expiresAt",
              "needsSignIn", "refreshLeaseUntil", "createdAt", "updatedAt")
            VALUES (${crypto.randomUUID()}, ${userId}, ${t.accessToken}, ${t.refreshToken}, ${t.idToken}, ${t.tokenType}, ${t.scopes},
              ${t.expiresAt}, ${false}, ${null}, ${now}, ${now})
            ON CONFLICT ("userId") DO UPDATE SET
              "accessToken" = excluded."accessToken", "refreshToken" = excluded."refreshToken", "idToken" = excluded."idToken",
              "tokenType" = excluded."tokenType", "scopes" = excluded."scopes", "expiresAt" = excluded."expiresAt",
              "needsSignIn" = excluded."needsSignIn", "refreshLeaseUntil" = excluded."refreshLeaseUntil", "updatedAt" = excluded."updatedAt"`);
          return userId;
        }),
      );
    },

    async acquireRefreshLease(userId, until, now, seenUpdatedAt) {
      const { count } = await retryWhenBusy(() =>
        database.tokenSet.updateMany({
          where: {
            userId,
            needsSignIn: false,
            updatedAt: seenUpdatedAt,
            OR: [{ refreshLeaseUntil: null }, { refreshLeaseUntil: { lte: now } }],
          },
          data: { refreshLeaseUntil: until },
        }),
      );
      return count === 1 ? until : undefined;
    },

    async releaseRefreshLease(userId, lease) {
      await retryWhenBusy(() =>
        database.tokenSet.updateMany({ where: { userId, refreshLeaseUntil: lease }, data: { refreshLeaseUntil: null } }),
      );
    },

    async saveRefreshedTokens(user, previous, tokens, now, lease) {
      // Without a usable new access token, the previous one stays with its own type, scopes and expiry.
      const { accessToken } = tokens;
      const plain = {
        accessToken: accessToken ?? previous.accessToken,
        // Microsoft may rotate the refresh token on every refresh: always keep the newest one.
        refreshToken: tokens.refreshToken ?? previous.refreshToken,
        idToken: tokens.idToken ?? previous.idToken,
      };
      const tokenType = accessToken === undefined ? previous.tokenType : tokens.tokenType;
      const scopes = accessToken !== undefined && tokens.scopes.length > 0 ? [...tokens.scopes] : previous.scopes;
      const expiresAt = accessToken === undefined ? previous.expiresAt : new Date(now.getTime() + tokens.expiresIn * 1000);
      // The old refresh token may already be spent upstream: a busy database must not lose the new one.
      const { count } = await retryWhenBusy(() =>
        database.tokenSet.updateMany({
          where: { userId: user.id, refreshLeaseUntil: lease },
          data: {
            ...sealTokens(user, plain),
            tokenType,
            scopes: scopes.join(' '),
            expiresAt,
            needsSignIn: false,
            refreshLeaseUntil: null,
          },
        }),
      );
      if (count === 0) return undefined;
      return { ...plain, tokenType, scopes, expiresAt, needsSignIn: false, updatedAt: now };
    },

    async markNeedsSignIn(userId, lease) {
      await retryWhenBusy(() =>
        database.tokenSet.updateMany({ where: { userId, refreshLeaseUntil: lease }, data: { needsSignIn: true, refreshLeaseUntil: null } }),
      );
    },

    async loadSignIn(userId) {
      // One query for the user and their token set.
      const [row] = await queryRows(
        database,
        sql`SELECT u."id", u."tenantId", u."objectId", u."displayName", u."username",
          t."accessToken", t."refreshToken", t."idToken", t."tokenType", t."scopes", t."expiresAt", t."needsSignIn", t."updatedAt"
        FROM "User" u LEFT JOIN "TokenSet" t ON t."userId" = u."id" WHERE u."id" = ${userId}`,
      );
      return row === undefined ? undefined : signInFromRow(row);
    },

    async readSessionWithSignIn(sid) {
      // The signed-in page's only read: the session row with its user and their token set.
      const [row] = await queryRows(
        database,
        sql`SELECT s."data", s."expiresAt" AS "sessionExpiresAt", s."destroyed", s."userId" AS "sessionUserId",
          u."id", u."tenantId", u."objectId", u."displayName", u."username",
          t."accessToken", t."refreshToken", t."idToken", t."tokenType", t."scopes", t."expiresAt", t."needsSignIn", t."updatedAt"
        FROM "Session" s LEFT JOIN "User" u ON u."id" = s."userId" LEFT JOIN "TokenSet" t ON t."userId" = u."id" WHERE s."id" = ${sid}`,
      );
      if (row === undefined) return undefined;
      const userId = typeof row.sessionUserId === 'string' ? row.sessionUserId : undefined;
      return {
        data: row.data,
        expiresAt: row.sessionExpiresAt,
        destroyed: row.destroyed,
        signIn: userId === undefined ? undefined : { userId, signIn: row.id === null ? undefined : signInFromRow(row) },
      };
    },

    listUsers() {
      return database.user.findMany({ select: USER_FIELDS, orderBy: { createdAt: 'asc' } });
    },

    async forgetUser(userId) {
      await retryWhenBusy(() => database.user.deleteMany({ where: { id: userId } }));
      // secure_delete zeroed the rows in the pages written to the WAL; the checkpoint drops the older frames that held them.
      return checkpointDeletedData(database);
    },
  };
}
