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
import type { SqlDatabase } from './sql.ts';

/** Prisma's client for either database: the two generated clients have the same models (see scripts/postgresql-schema.ts). */
export type PrismaDatabaseClient = InstanceType<typeof PrismaClient>;

/**
 * An open SQLite file or PostgreSQL pool as the app's stores use it (open-store-database.ts): on SQLite without Prisma's
 * client, which the server and `npm run token` never need there.
 */
export interface StoreDatabase {
  readonly provider: 'sqlite' | 'postgres';
  /** Every statement of the app's stores goes through this seam (sql.ts). */
  readonly sql: SqlDatabase;
  /**
   * After a deletion that must not be recoverable: on SQLite, checkpoints the WAL now or, while another connection
   * reads an older snapshot, keeps retrying until it can (wal-checkpoint.ts). True when nothing of the deleted rows is
   * left in the database files already; always true on PostgreSQL.
   */
  eraseDeletedData(): boolean;
  /**
   * Rewrites the whole SQLite file (VACUUM) and empties the WAL, so no free page or older frame keeps what was
   * overwritten. Waits up to `waitMs` for another connection's write lock (VACUUM) and read snapshot (the checkpoint);
   * `onWaiting` hears when the checkpoint must wait. False when the time ran out; true at once on PostgreSQL.
   */
  compact(options: { waitMs: number; onWaiting?: (() => void) | undefined }): Promise<boolean>;
  /** Closes the connection (SQLite) or the pool (PostgreSQL). */
  close(): Promise<void>;
}

/** A store database with Prisma's client on the same connection (open-database.ts), for tests and tools. */
export interface Database extends StoreDatabase {
  /** The seam's fallback path, and typed queries for tests and tools. */
  readonly prisma: PrismaDatabaseClient;
}

/** How open-database.ts and open-store-database.ts open a database. */
export interface DatabaseOptions {
  busyTimeoutMs?: number | undefined;
  /** Sees the SQL of every statement the app runs (tests count writes with it). */
  onStatement?: ((sql: string) => void) | undefined;
  /** Sees the SQL of every statement that goes through Prisma's client rather than straight to the driver adapter (sql.ts). */
  onClientStatement?: ((sql: string) => void) | undefined;
  /** Errors of idle pooled PostgreSQL connections (the server restarted, the network dropped); they must not crash the process. */
  onConnectionError?: ((error: Error) => void) | undefined;
}

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
