// Development only: the fixed home tenant and test accounts of the local identity provider.
import { createHash } from 'node:crypto';

import type { TestAccount } from './types.ts';

/** Home tenant GUID of the work accounts (fixed so tests and demos are reproducible). */
export const TENANT_ID = '4b0911a0-929b-4715-944b-c03745165b3a';

/** Verified domain of the home tenant; accepted as a tenant segment like the GUID. */
export const TENANT_DOMAIN = 'contoso.test';

/** Display name of the home tenant, used in Microsoft-style error texts. */
export const TENANT_NAME = 'Contoso (local development)';

/**
 * Tenant of every personal Microsoft account: "For sign-ins to the personal Microsoft account tenant … the value is
 * 9188040d-6c67-4c5b-b112-36a304b66dad" (learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference).
 */
export const CONSUMERS_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** Password of every test account; shown on the sign-in page because this provider is development-only. */
export const TEST_PASSWORD = 'Passw0rd!';

/** The test accounts, in the order the sign-in page lists them: the home tenant's, then the personal account. */
export const TEST_ACCOUNTS: readonly TestAccount[] = Object.freeze(
  [
    {
      username: 'adele@contoso.test',
      password: TEST_PASSWORD,
      displayName: 'Adele Vance',
      objectId: '5f0a3f4e-6c2b-4d0e-9a51-2b7c3e8d1f01',
      tenantId: TENANT_ID,
      givenName: 'Adele',
      surname: 'Vance',
      jobTitle: 'Retail Manager',
    },
    {
      username: 'alex@contoso.test',
      password: TEST_PASSWORD,
      displayName: 'Alex Wilber',
      objectId: '8d2e6b1c-3a4f-4e7b-8c90-5d1e2f3a4b02',
      tenantId: TENANT_ID,
      givenName: 'Alex',
      surname: 'Wilber',
      jobTitle: 'Marketing Assistant',
    },
    {
      username: 'megan@contoso.test',
      password: TEST_PASSWORD,
      displayName: 'Megan Bowen',
      objectId: 'c41b7e9a-0d5f-4a62-b3e8-7f9a0b1c2d03',
      tenantId: TENANT_ID,
      givenName: 'Megan',
      surname: 'Bowen',
      jobTitle: 'Marketing Manager',
    },
    {
      username: 'pat@outlook.test',
      password: TEST_PASSWORD,
      displayName: 'Pat Kim',
      // Microsoft writes a personal account's oid as 00000000-0000-0000- followed by its 64-bit account id.
      objectId: '00000000-0000-0000-7c3a-5e19d2b4f6a8',
      tenantId: CONSUMERS_TENANT_ID,
      givenName: 'Pat',
      surname: 'Kim',
      jobTitle: 'Personal Microsoft account',
    },
  ].map((account) => Object.freeze(account)),
);

/** Object ids of the home tenant's Global Administrators (they may approve admin consent). */
const ADMINISTRATOR_OBJECT_IDS: ReadonlySet<string> = new Set(['c41b7e9a-0d5f-4a62-b3e8-7f9a0b1c2d03']);

/** True for a personal Microsoft account (consumers tenant), which no tenant-wide consent covers. */
export function isPersonalAccount(account: TestAccount): boolean {
  return account.tenantId === CONSUMERS_TENANT_ID;
}

/** True for a Global Administrator of the home tenant (megan@contoso.test). */
export function isTenantAdministrator(account: TestAccount): boolean {
  return account.tenantId === TENANT_ID && ADMINISTRATOR_OBJECT_IDS.has(account.objectId);
}

/** Looks an account up by user name (case-insensitive, like Entra ID). */
export function findAccountByUsername(username: string): TestAccount | undefined {
  const wanted = username.trim().toLowerCase();
  return TEST_ACCOUNTS.find((account) => account.username.toLowerCase() === wanted);
}

/** Looks an account up by its object id (the provider's account id). */
export function findAccountByObjectId(objectId: string): TestAccount | undefined {
  return TEST_ACCOUNTS.find((account) => account.objectId === objectId);
}

/**
 * The `sub` claim of an account. Entra ID's `sub` is an opaque value that differs from `oid`, so
 * clients must key users on tid + oid; a stable hash keeps that difference visible here.
 */
export function subjectOf(account: TestAccount): string {
  return createHash('sha256').update(`o365-signin-dev-idp:${account.objectId}`).digest('base64url');
}

/** Looks an account up by its `sub` (the oidc-provider account id). */
export function findAccountBySubject(subject: string): TestAccount | undefined {
  return TEST_ACCOUNTS.find((account) => subjectOf(account) === subject);
}

/** The account for these credentials, or undefined when the user or the password is wrong. */
export function checkCredentials(username: string, password: string): TestAccount | undefined {
  const account = findAccountByUsername(username);
  return account !== undefined && account.password === password ? account : undefined;
}
