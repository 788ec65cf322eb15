import { sql } from '../db/sql.ts';
import type { SqlDatabase } from '../db/sql.ts';
import { RESOURCE_TOKEN_COLUMNS, readStoredResourceTokens } from '../tokens/resource-token-store.ts';
import type { TokenCipher } from '../tokens/token-cipher.ts';
import { readStoredSignIn, SIGN_IN_COLUMNS } from '../tokens/token-store.ts';
import type { ReadSessionRow } from './session-store.ts';

/**
 * The signed-in page's one read: a session row with its user (`Session.userId`), their token set and their tokens for
 * other resources, in one query (one row per resource token, at least one). Each table's columns and their checks come
 * from the store that owns it; only the join is written here.
 */
export function createSignedInRead(database: SqlDatabase, cipher: TokenCipher): ReadSessionRow {
  return async (sid) => {
    const rows = await database.queryRows(
      sql`SELECT s."data", s."expiresAt" AS "sessionExpiresAt", s."destroyed", s."userId" AS "sessionUserId",
        ${SIGN_IN_COLUMNS}, ${RESOURCE_TOKEN_COLUMNS}
      FROM "Session" s LEFT JOIN "User" u ON u."id" = s."userId" LEFT JOIN "TokenSet" t ON t."userId" = u."id"
        LEFT JOIN "ResourceToken" r ON r."userId" = u."id"
      WHERE s."id" = ${sid} ORDER BY r."resource", r."scopeKey"`,
    );
    const [row] = rows;
    if (row === undefined) return undefined;
    const { data, sessionExpiresAt: expiresAt, destroyed } = row;
    const userId = row.sessionUserId;
    if (typeof userId !== 'string') return { data, expiresAt, destroyed };
    // The user is gone (forgotten) when the join found none: the session then means nothing any more.
    if (row.id === null) return { data, expiresAt, destroyed, signedIn: { userId, signIn: undefined, resourceTokens: [] } };
    const signIn = readStoredSignIn(row, cipher);
    const resourceTokens = readStoredResourceTokens(signIn.user, rows, cipher);
    return { data, expiresAt, destroyed, signedIn: { userId, signIn, resourceTokens } };
  };
}
