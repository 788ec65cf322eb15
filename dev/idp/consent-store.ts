// Development only: who consented to which permissions of which resource (per account, per tenant, by an admin).
import { isPersonalAccount } from './accounts.ts';
import { GRAPH_RESOURCE } from './graph.ts';
import type { ResourceCatalogue } from './resources.ts';
import type { TestAccount } from './types.ts';

/**
 * Consent as Entra ID keeps it: a user's own (delegated) consent per app and resource, and a
 * tenant-wide grant (the resource's 'tenant' setting, or an admin consent) that covers every work
 * account of the home tenant but never a personal account, which belongs to no tenant.
 */
export interface ConsentStore {
  /** Makes a resource tenant-consented or not; 'none' also drops the admin consents given for it. */
  setResourceConsent(identifier: string, consent: 'tenant' | 'none'): void;
  /** Records what an account granted to an app by signing in (Graph included). */
  recordInteractiveConsent(objectId: string, clientId: string, resource: string, permissions: readonly string[]): void;
  /** Records an admin consent: the permissions become consented for every work account of the tenant. */
  recordAdminConsent(clientId: string, resource: string, permissions: readonly string[]): void;
  /** Forgets the interactive consents for resources other than Graph of one account, or of every account. */
  revokeInteractiveConsent(objectId?: string): void;
  /** The permissions of a resource this account may get tokens for with this app. */
  consentedPermissions(account: TestAccount, clientId: string, resource: string): Set<string>;
}

type PermissionsByResource = Map<string, Set<string>>;

function addAll(target: PermissionsByResource, resource: string, permissions: readonly string[]): void {
  const set = target.get(resource) ?? new Set<string>();
  for (const permission of permissions) set.add(permission);
  target.set(resource, set);
}

/** An empty consent store over the provider's resources (their 'consent' setting is the starting point). */
export function createConsentStore(catalogue: ResourceCatalogue): ConsentStore {
  const tenantWide = new Set(
    catalogue.resources.filter((resource) => resource.consent === 'tenant').map((resource) => resource.identifier),
  );
  const adminConsents = new Map<string, PermissionsByResource>();
  const interactive = new Map<string, PermissionsByResource>();
  const userKey = (objectId: string, clientId: string): string => `${objectId}\n${clientId}`;

  return {
    setResourceConsent(identifier, consent) {
      const resource = catalogue.find(identifier);
      if (resource === undefined) throw new Error(`setResourceConsent: no resource '${identifier}' is configured`);
      if (consent === 'tenant') {
        tenantWide.add(resource.identifier);
        return;
      }
      tenantWide.delete(resource.identifier);
      for (const byResource of adminConsents.values()) byResource.delete(resource.identifier);
    },
    recordInteractiveConsent(objectId, clientId, resource, permissions) {
      const key = userKey(objectId, clientId);
      const byResource = interactive.get(key) ?? new Map<string, Set<string>>();
      addAll(byResource, resource, permissions);
      interactive.set(key, byResource);
    },
    recordAdminConsent(clientId, resource, permissions) {
      const byResource = adminConsents.get(clientId) ?? new Map<string, Set<string>>();
      addAll(byResource, resource, permissions);
      adminConsents.set(clientId, byResource);
    },
    revokeInteractiveConsent(objectId) {
      for (const [key, byResource] of interactive) {
        if (objectId !== undefined && !key.startsWith(`${objectId}\n`)) continue;
        for (const resource of [...byResource.keys()]) if (resource !== GRAPH_RESOURCE) byResource.delete(resource);
      }
    },
    consentedPermissions(account, clientId, resource) {
      const granted = new Set(interactive.get(userKey(account.objectId, clientId))?.get(resource));
      if (isPersonalAccount(account)) return granted;
      if (tenantWide.has(resource)) for (const permission of catalogue.find(resource)?.scopes ?? []) granted.add(permission);
      for (const permission of adminConsents.get(clientId)?.get(resource) ?? []) granted.add(permission);
      return granted;
    },
  };
}
