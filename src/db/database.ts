import type { PrismaClient } from '../generated/prisma/client.ts';
import type { AdminConsentRequest, RateLimitHit, ResourceToken, Session, TokenSet, User } from '../generated/prisma/client.ts';
import type {
  AdminConsentRequest as PgAdminConsentRequest,
  RateLimitHit as PgRateLimitHit,
  ResourceToken as PgResourceToken,
  Session as PgSession,
  TokenSet as PgTokenSet,
  User as PgUser,
} from '../generated/prisma-pg/client.ts';

/** One type for both databases: the two generated clients have the same models (see scripts/postgresql-schema.ts). */
export type Database = InstanceType<typeof PrismaClient>;

/** Fails the type check when the PostgreSQL client was generated from another data model than the SQLite one. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type ModelsMatch = [
  Same<User, PgUser>,
  Same<TokenSet, PgTokenSet>,
  Same<Session, PgSession>,
  Same<RateLimitHit, PgRateLimitHit>,
  Same<ResourceToken, PgResourceToken>,
  Same<AdminConsentRequest, PgAdminConsentRequest>,
] extends [true, true, true, true, true, true]
  ? true
  : never;
export const modelsMatch: ModelsMatch = true;
