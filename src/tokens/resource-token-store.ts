import type { Database } from '../db/database.ts';
import { queryRows, sql } from '../db/direct-sql.ts';
import type { SqlRow } from '../db/direct-sql.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import type { RefreshResponse, TokenResponse } from '../auth/oauth-client.ts';
import { isBearerToken } from '../auth/bearer-token.ts';
import { parseResourceScopes } from '../auth/resource-scopes.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import type { TokenCipher } from './token-cipher.ts';
import { resourceTokenContext, TokenDecryptError, tokenContext } from './token-cipher.ts';
import { storedDate, storedText } from './token-store.ts';
import type { StoredUser } from './token-store.ts';

/** An access token for another resource than the default, decrypted. */
export interface StoredResourceToken {
  /** The resource, normalised (src/auth/resource-scopes.ts). */
  readonly resource: string;
  /** The resource and its permissions, normalised: the cache key. */
  readonly scopeKey: string;
  /** The scopes as asked for, sent again to renew the token. */
  readonly requestedScopes: readonly string[];
  readonly accessToken: string;
  readonly tokenType: string;
  /** The scopes Microsoft granted. */
  readonly scopes: readonly string[];
  readonly expiresAt: Date;
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

/** A user, their grant and their token for one scope set, read in one query. */
export interface ResourceTokenRead {
  readonly user: StoredUser;
  /** undefined when the user has no token set or it cannot be decrypted: sign in again. */
  readonly grant: StoredGrant | undefined;
  /** undefined when none is stored for this scope set, or it cannot be decrypted (then it is fetched anew). */
  readonly token: StoredResourceToken | undefined;
}

export interface ResourceTokenStore {
  /** Reads the user, their grant and their token for `scopeKey`; undefined when the user is gone. */
  loadResourceToken(userId: string, scopeKey: string): Promise<ResourceTokenRead | undefined>;
  /** Every readable token of the user for other resources, by resource and scopes. */
  listResourceTokens(user: StoredUser): Promise<StoredResourceToken[]>;
  /**
   * After a refresh-token redemption for `request`, in one transaction: the rotated refresh token and a verified ID token
   * replace the user's (their lease released), and the resource's access token is stored under its scope set. Writes
   * nothing and returns undefined when the lease was lost (a sign-in replaced the set meanwhile). When the answer had
   * no usable access token, only the refresh and ID tokens are stored and `token` is undefined.
   */
  saveRedeemedToken(
    user: StoredUser,
    request: ResourceScopes,
    response: RefreshResponse,
    now: Date,
    lease: Date,
  ): Promise<{ token: StoredResourceToken | undefined } | undefined>;
  /**
   * After a sign-in for another resource by the same user, in one transaction: its refresh and ID tokens become the
   * user's (any refresh under way loses its lease, as after a sign-in) and its access token is stored for `request`.
   * Returns undefined, writing nothing, when the user has no token set any more.
   */
  saveResourceSignIn(user: StoredUser, request: ResourceScopes, tokens: TokenResponse, now: Date): Promise<StoredResourceToken | undefined>;
}

const text = storedText;
const date = storedDate;
const words = (value: string): string[] => value.split(' ').filter(Boolean);

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** The client inside Prisma's interactive transaction. */
type Transaction = Parameters<Parameters<Database['$transaction']>[0]>[0];

/** Marks a transaction to roll back without an error reaching the caller. */
class LeaseLost extends Error {}

export function createResourceTokenStore(database: Database, cipher: TokenCipher): ResourceTokenStore {
  const userOf = (row: SqlRow): StoredUser => ({
    id: text(row, 'id'),
    tenantId: text(row, 'tenantId'),
    objectId: text(row, 'objectId'),
    displayName: text(row, 'displayName'),
    username: text(row, 'username'),
  });

  /** The grant's columns of a row, decrypted; undefined when absent or unreadable. */
  const grantOf = (user: StoredUser, row: SqlRow): StoredGrant | undefined => {
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
  };

  /**
   * A resource token row, checked and decrypted; undefined when any column is not what the app writes (stored data is
   * input: such a row is fetched anew, never shown or a 500), its scopes no longer name its scope set, it does not open
   * under its user and scope set, or it is no bearer token.
   */
  const tokenOf = (user: StoredUser, row: SqlRow): StoredResourceToken | undefined => {
    const {
      resource,
      scopeKey,
      requestedScopes,
      resourceAccessToken,
      resourceTokenType,
      resourceScopes,
      resourceExpiresAt,
      resourceUpdatedAt,
    } = row;
    if (
      typeof resource !== 'string' ||
      typeof scopeKey !== 'string' ||
      typeof requestedScopes !== 'string' ||
      typeof resourceAccessToken !== 'string' ||
      resourceTokenType !== 'Bearer' ||
      typeof resourceScopes !== 'string' ||
      !isValidDate(resourceExpiresAt) ||
      !isValidDate(resourceUpdatedAt)
    )
      return undefined;
    const request = parseResourceScopes(requestedScopes);
    if (!request.ok || request.value.key !== scopeKey || request.value.resource !== resource) return undefined;
    let accessToken: string;
    try {
      accessToken = cipher.open(resourceAccessToken, resourceTokenContext(user, scopeKey));
    } catch (error) {
      if (error instanceof TokenDecryptError) return undefined;
      throw error;
    }
    if (!isBearerToken(accessToken)) return undefined;
    return {
      resource,
      scopeKey,
      requestedScopes: [...request.value.scopes],
      accessToken,
      tokenType: resourceTokenType,
      scopes: words(resourceScopes),
      expiresAt: resourceExpiresAt,
      updatedAt: resourceUpdatedAt,
    };
  };

  const storedToken = (
    request: ResourceScopes,
    accessToken: string,
    tokens: Pick<TokenResponse, 'tokenType' | 'scopes'>,
    expiresAt: Date,
    now: Date,
  ) => ({
    resource: request.resource,
    scopeKey: request.key,
    requestedScopes: [...request.scopes],
    accessToken,
    tokenType: tokens.tokenType,
    // Microsoft answers with the granted scopes; without them, the ones asked for.
    scopes: tokens.scopes.length > 0 ? [...tokens.scopes] : [...request.scopes],
    expiresAt,
    updatedAt: now,
  });

  /** Writes a resource token's row, sealed under its user and scope set, replacing the one of the same scope set. */
  const upsertToken = async (transaction: Transaction, user: StoredUser, token: StoredResourceToken): Promise<void> => {
    const row = {
      resource: token.resource,
      requestedScopes: token.requestedScopes.join(' '),
      accessToken: cipher.seal(token.accessToken, resourceTokenContext(user, token.scopeKey)),
      tokenType: token.tokenType,
      scopes: token.scopes.join(' '),
      expiresAt: token.expiresAt,
    };
    await transaction.resourceToken.upsert({
      where: { userId_scopeKey: { userId: user.id, scopeKey: token.scopeKey } },
      create: { userId: user.id, scopeKey: token.scopeKey, ...row },
      update: row,
    });
  };

  return {
    async loadResourceToken(userId, scopeKey) {
      // One query: the user, their token set's grant, and the token for this scope set if there is one.
      const [row] = await queryRows(
        database,
        sql`SELECT u."id", u."tenantId", u."objectId", u."displayName", u."username",
          t."refreshToken", t."idToken", t."needsSignIn", t."updatedAt" AS "grantUpdatedAt",
          r."resource", r."scopeKey", r."requestedScopes", r."accessToken" AS "resourceAccessToken", r."tokenType" AS "resourceTokenType",
          r."scopes" AS "resourceScopes", r."expiresAt" AS "resourceExpiresAt", r."updatedAt" AS "resourceUpdatedAt"
        FROM "User" u LEFT JOIN "TokenSet" t ON t."userId" = u."id"
          LEFT JOIN "ResourceToken" r ON r."userId" = u."id" AND r."scopeKey" = ${scopeKey}
        WHERE u."id" = ${userId}`,
      );
      if (row === undefined) return undefined;
      const user = userOf(row);
      return { user, grant: grantOf(user, row), token: tokenOf(user, row) };
    },

    async listResourceTokens(user) {
      const rows = await queryRows(
        database,
        sql`SELECT "resource", "scopeKey", "requestedScopes", "accessToken" AS "resourceAccessToken", "tokenType" AS "resourceTokenType",
          "scopes" AS "resourceScopes", "expiresAt" AS "resourceExpiresAt", "updatedAt" AS "resourceUpdatedAt"
        FROM "ResourceToken" WHERE "userId" = ${user.id} ORDER BY "resource", "scopeKey"`,
      );
      return rows.map((row) => tokenOf(user, row)).filter((token) => token !== undefined);
    },

    async saveRedeemedToken(user, request, response, now, lease) {
      const { accessToken } = response;
      const token =
        accessToken === undefined
          ? undefined
          : storedToken(request, accessToken, response, new Date(now.getTime() + response.expiresIn * 1000), now);
      try {
        // The old refresh token may already be spent upstream: a busy database must not lose the new one.
        await retryWhenBusy(() =>
          database.$transaction(async (transaction) => {
            const { count } = await transaction.tokenSet.updateMany({
              where: { userId: user.id, refreshLeaseUntil: lease },
              data: {
                // Microsoft may rotate the refresh token on every redemption: always keep the newest one.
                ...(response.refreshToken === undefined
                  ? {}
                  : { refreshToken: cipher.seal(response.refreshToken, tokenContext(user, 'refreshToken')) }),
                ...(response.idToken === undefined ? {} : { idToken: cipher.seal(response.idToken, tokenContext(user, 'idToken')) }),
                refreshLeaseUntil: null,
              },
            });
            if (count === 0) throw new LeaseLost();
            if (token !== undefined) await upsertToken(transaction, user, token);
          }),
        );
      } catch (error) {
        if (error instanceof LeaseLost) return undefined;
        throw error;
      }
      return { token };
    },

    async saveResourceSignIn(user, request, tokens, now) {
      const token = storedToken(request, tokens.accessToken, tokens, new Date(now.getTime() + tokens.expiresIn * 1000), now);
      try {
        await retryWhenBusy(() =>
          database.$transaction(async (transaction) => {
            const { count } = await transaction.tokenSet.updateMany({
              where: { userId: user.id },
              data: {
                ...(tokens.refreshToken === undefined
                  ? {}
                  : { refreshToken: cipher.seal(tokens.refreshToken, tokenContext(user, 'refreshToken')) }),
                idToken: cipher.seal(tokens.idToken, tokenContext(user, 'idToken')),
                // An interactive sign-in gave a fresh refresh token: a refresh still running with the old one loses its lease.
                needsSignIn: false,
                refreshLeaseUntil: null,
              },
            });
            if (count === 0) throw new LeaseLost();
            await upsertToken(transaction, user, token);
          }),
        );
      } catch (error) {
        if (error instanceof LeaseLost) return undefined;
        throw error;
      }
      return token;
    },
  };
}
