import crypto from 'node:crypto';
import { sql } from '../db/sql.ts';
import type { SqlDatabase, SqlQueries, SqlRow } from '../db/sql.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import type { RefreshResponse, TokenResponse } from '../auth/oauth-client.ts';
import { isBearerToken } from '../auth/bearer-token.ts';
import { parseResourceScopes } from '../auth/resource-scopes.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import type { TokenCipher } from './token-cipher.ts';
import { resourceTokenContext, TokenDecryptError } from './token-cipher.ts';
import { GRANT_COLUMNS, readStoredGrant, readStoredUser, replaceGrant } from './token-store.ts';
import type { StoredGrant, StoredUser } from './token-store.ts';

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

const words = (value: string): string[] => value.split(' ').filter(Boolean);

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** The columns of a token for another resource, from the table aliased `r`: what readStoredResourceToken reads. */
export const RESOURCE_TOKEN_COLUMNS = sql`r."resource", r."scopeKey", r."requestedScopes", r."accessToken" AS "resourceAccessToken",
  r."tokenType" AS "resourceTokenType", r."scopes" AS "resourceScopes", r."expiresAt" AS "resourceExpiresAt",
  r."updatedAt" AS "resourceUpdatedAt"`;

/**
 * A resource token read back from the columns of RESOURCE_TOKEN_COLUMNS, checked and decrypted; undefined when any column
 * is not what the app writes (stored data is input: such a row is fetched anew, never shown or a 500), its scopes no
 * longer name its scope set, it does not open under its user and scope set, or it is no bearer token.
 */
export function readStoredResourceToken(user: StoredUser, row: SqlRow, cipher: TokenCipher): StoredResourceToken | undefined {
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
}

/** Every readable token of `rows` (RESOURCE_TOKEN_COLUMNS, LEFT JOINed: a row without one is skipped). */
export function readStoredResourceTokens(user: StoredUser, rows: readonly SqlRow[], cipher: TokenCipher): StoredResourceToken[] {
  return rows.map((row) => readStoredResourceToken(user, row, cipher)).filter((token) => token !== undefined);
}

/** Marks a transaction to roll back without an error reaching the caller. */
class LeaseLost extends Error {}

/**
 * The store of the ResourceToken table (and of the grant columns of TokenSet that a redemption for another resource
 * rotates). Every statement goes through the seam (sql.ts); every write sets `updatedAt` to the caller's `now`.
 */
export function createResourceTokenStore(database: SqlDatabase, cipher: TokenCipher): ResourceTokenStore {
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
  const upsertToken = async (transaction: SqlQueries, user: StoredUser, token: StoredResourceToken, now: Date): Promise<void> => {
    const sealed = cipher.seal(token.accessToken, resourceTokenContext(user, token.scopeKey));
    await transaction.run(sql`
      INSERT INTO "ResourceToken" ("id", "userId", "resource", "scopeKey", "requestedScopes", "accessToken", "tokenType", "scopes",
        "expiresAt", "createdAt", "updatedAt")
      VALUES (${crypto.randomUUID()}, ${user.id}, ${token.resource}, ${token.scopeKey}, ${token.requestedScopes.join(' ')}, ${sealed},
        ${token.tokenType}, ${token.scopes.join(' ')}, ${token.expiresAt}, ${now}, ${now})
      ON CONFLICT ("userId", "scopeKey") DO UPDATE SET
        "resource" = excluded."resource", "requestedScopes" = excluded."requestedScopes", "accessToken" = excluded."accessToken",
        "tokenType" = excluded."tokenType", "scopes" = excluded."scopes", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`);
  };

  return {
    async loadResourceToken(userId, scopeKey) {
      // One query: the user, their token set's grant, and the token for this scope set if there is one.
      const [row] = await database.queryRows(
        sql`SELECT ${GRANT_COLUMNS}, ${RESOURCE_TOKEN_COLUMNS}
        FROM "User" u LEFT JOIN "TokenSet" t ON t."userId" = u."id"
          LEFT JOIN "ResourceToken" r ON r."userId" = u."id" AND r."scopeKey" = ${scopeKey}
        WHERE u."id" = ${userId}`,
      );
      if (row === undefined) return undefined;
      const user = readStoredUser(row);
      return { user, grant: readStoredGrant(user, row, cipher), token: readStoredResourceToken(user, row, cipher) };
    },

    async listResourceTokens(user) {
      const rows = await database.queryRows(
        sql`SELECT ${RESOURCE_TOKEN_COLUMNS} FROM "ResourceToken" r WHERE r."userId" = ${user.id} ORDER BY r."resource", r."scopeKey"`,
      );
      return readStoredResourceTokens(user, rows, cipher);
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
          database.transaction(async (transaction) => {
            if (!(await replaceGrant(transaction, cipher, user, response, { lease, now }))) throw new LeaseLost();
            if (token !== undefined) await upsertToken(transaction, user, token, now);
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
          database.transaction(async (transaction) => {
            // An interactive sign-in gave a fresh refresh token: a refresh still running with the old one loses its lease.
            if (!(await replaceGrant(transaction, cipher, user, tokens, { lease: undefined, now }))) throw new LeaseLost();
            await upsertToken(transaction, user, token, now);
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
