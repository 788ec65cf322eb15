import crypto from 'node:crypto';
import type { Config } from '../config.ts';
import { isTenantId } from '../config.ts';
import { retryWhenBusy } from '../db/database-retry.ts';
import { sql } from '../db/sql.ts';
import type { SqlDatabase } from '../db/sql.ts';
import { randomToken } from '../random-token.ts';
import { addPending, takePending } from './pending-sign-ins.ts';

/**
 * The tenant of every personal Microsoft account (its `tid`). Personal accounts have no administrator: "personal
 * accounts cannot provide admin consent except in the context of a tenant" (learn.microsoft.com/entra/identity-platform/v2-admin-consent).
 */
export const PERSONAL_ACCOUNTS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** An admin-consent round trip started from the page: in the browser's session, one-time, 10 minutes, like a pending sign-in. */
export interface PendingAdminConsent {
  readonly state: string;
  /** The tenant the administrator is sent to: the signed-in user's `tid`, never `common`. */
  readonly tenantId: string;
  readonly scopes: readonly string[];
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** What an admin-consent answer refers to: the tenant and scopes the app asked for (never what the answer says). */
export interface AdminConsentRequest {
  readonly userId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
}

/** At most this many admin consents may be pending in one browser; the oldest goes first. */
export const MAX_PENDING_ADMIN_CONSENTS = 5;
/** A link printed by `npm run token` waits this long for an administrator to open it, in any browser. */
export const ADMIN_CONSENT_LINK_MS = 24 * 60 * 60 * 1000;

/**
 * The tenant an administrator can consent for: the user's tenant GUID. undefined for personal accounts, which have no
 * administrator, and for anything that is not a tenant GUID (`common`, `consumers`, `organizations`, a domain).
 */
export function adminConsentTenantOf(tenantId: string): string | undefined {
  const tenant = tenantId.toLowerCase();
  return isTenantId(tenant) && tenant !== PERSONAL_ACCOUNTS_TENANT ? tenant : undefined;
}

/**
 * `{authority host}/{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state` (learn.microsoft.com/entra/identity-platform/v2-admin-consent):
 * the user's own tenant id, never `common` ("Do not use 'common'"); the registered redirect URI on BASE_URL's origin.
 */
export function buildAdminConsentUrl(config: Config, request: { tenantId: string; scopes: readonly string[]; state: string }): string {
  const tenant = adminConsentTenantOf(request.tenantId);
  if (tenant === undefined) throw new Error('Admin consent needs the tenant id of a work or school account.');
  const url = new URL(`${config.authorityHost}/${tenant}/v2.0/adminconsent`);
  url.searchParams.set('client_id', config.appId);
  url.searchParams.set('scope', request.scopes.join(' '));
  url.searchParams.set('redirect_uri', config.redirectUri);
  url.searchParams.set('state', request.state);
  return url.href;
}

/** A fresh admin consent for the page: its state from the CSPRNG. */
export function createPendingAdminConsent(now: number, request: { tenantId: string; scopes: readonly string[] }): PendingAdminConsent {
  return { state: randomToken(), tenantId: request.tenantId, scopes: [...request.scopes], createdAt: now };
}

/** Adds a pending admin consent, dropping expired ones and the oldest beyond the cap. */
export function addPendingAdminConsent(
  pending: readonly PendingAdminConsent[] | undefined,
  consent: PendingAdminConsent,
): PendingAdminConsent[] {
  return addPending(pending, consent, MAX_PENDING_ADMIN_CONSENTS);
}

/** Finds the pending admin consent whose state equals `state` (constant-time) and the list that remains without it. */
export function takePendingAdminConsent(
  pending: readonly PendingAdminConsent[] | undefined,
  state: string,
): { consent: PendingAdminConsent | undefined; remaining: PendingAdminConsent[] } {
  const { found, remaining } = takePending(pending, state);
  return { consent: found, remaining };
}

const stateHashOf = (state: string) => crypto.createHash('sha256').update(state).digest('hex');

/**
 * Records an admin-consent link for `npm run token`, whose answer may arrive in any browser (an administrator's): its
 * state is kept in the database, as a hash, for ADMIN_CONSENT_LINK_MS. Returns the state for the link.
 */
export async function recordAdminConsentLink(database: SqlDatabase, request: AdminConsentRequest, now: Date): Promise<string> {
  const state = randomToken();
  const expiresAt = new Date(now.getTime() + ADMIN_CONSENT_LINK_MS);
  await retryWhenBusy(async () => {
    await database.run(sql`DELETE FROM "AdminConsentRequest" WHERE "expiresAt" <= ${now}`);
    await database.run(
      sql`INSERT INTO "AdminConsentRequest" ("stateHash", "userId", "tenantId", "scopes", "expiresAt")
        VALUES (${stateHashOf(state)}, ${request.userId}, ${request.tenantId}, ${request.scopes.join(' ')}, ${expiresAt})`,
    );
  });
  return state;
}

/** Consumes the link whose state this is (one DELETE: one winner across instances); undefined when unknown, used or expired. */
export async function takeAdminConsentLink(database: SqlDatabase, state: string, now: Date): Promise<AdminConsentRequest | undefined> {
  const [row] = await retryWhenBusy(() =>
    database.queryRows(
      sql`DELETE FROM "AdminConsentRequest" WHERE "stateHash" = ${stateHashOf(state)} RETURNING "userId", "tenantId", "scopes", "expiresAt"`,
    ),
  );
  if (row === undefined || !(row.expiresAt instanceof Date) || row.expiresAt.getTime() <= now.getTime()) return undefined;
  const { userId, tenantId, scopes } = row;
  if (typeof userId !== 'string' || typeof tenantId !== 'string' || typeof scopes !== 'string') return undefined;
  return { userId, tenantId, scopes: scopes.split(' ').filter(Boolean) };
}
