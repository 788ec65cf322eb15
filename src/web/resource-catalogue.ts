import { GRAPH_RESOURCE } from '../auth/resource-scopes.ts';

/** A well-known resource the page offers with one button: its name and the resource URI whose `.default` it asks for. */
export interface KnownResource {
  readonly name: string;
  /** Written as Microsoft documents it: ARM's URI ends with a slash, so its `.default` has the double slash. */
  readonly resource: string;
}

/** The one-button resources; SharePoint and Dataverse need the tenant's own host, asked for on the page. */
export const KNOWN_RESOURCES: readonly KnownResource[] = [
  { name: 'Microsoft Graph', resource: GRAPH_RESOURCE },
  { name: 'Outlook / Exchange Online', resource: 'https://outlook.office.com' },
  // learn.microsoft.com/entra/identity-platform/scopes-oidc: "https://management.azure.com//.default (notice the double slash!)"
  { name: 'Azure Resource Manager', resource: 'https://management.azure.com/' },
  { name: 'Azure Storage', resource: 'https://storage.azure.com' },
];

/** How to try a token for a resource: a call that needs nothing but the token, or why there is none. */
export interface ResourceDescription {
  readonly name: string;
  /** A request that works with the token alone (shown as "Copy as curl"). */
  readonly testCall?: { readonly label: string; readonly url: string; readonly headers?: readonly string[] };
  /** Said instead of (or beside) a test call. */
  readonly note?: string;
}

/** Names a stored token's resource and the sensible call to try it with (learn.microsoft.com, per API). */
export function describeResource(resource: string, graphBaseUrl: string): ResourceDescription {
  const host = hostOf(resource);
  if (resource === GRAPH_RESOURCE) {
    return { name: 'Microsoft Graph', testCall: { label: 'GET /v1.0/me', url: `${graphBaseUrl}/v1.0/me` } };
  }
  if (host === 'outlook.office.com' || host === 'outlook.office365.com') {
    return {
      name: 'Outlook / Exchange Online',
      // learn.microsoft.com/previous-versions/office/office-365-api/api/version-2.0/mail-rest-operations: decommissioned in March 2024.
      note:
        "Outlook's REST API was retired in March 2024, so there is no REST call to try: this token is for IMAP, SMTP and " +
        'Exchange Web Services. Its aud and scp below say what it is for.',
    };
  }
  if (host === 'management.azure.com' || host === 'management.core.windows.net') {
    return {
      name: 'Azure Resource Manager',
      // learn.microsoft.com/rest/api/resources/subscriptions/list: answers {"value":[]} when you have none.
      testCall: { label: 'GET /subscriptions', url: 'https://management.azure.com/subscriptions?api-version=2022-12-01' },
    };
  }
  if (host?.endsWith('.sharepoint.com') || host?.endsWith('.sharepoint.us') || host?.endsWith('.sharepoint.cn')) {
    return {
      name: `SharePoint (${host})`,
      testCall: {
        label: 'GET /_api/web',
        url: `${resource}/_api/web?$select=Title,Url`,
        headers: ['Accept: application/json;odata=nometadata'],
      },
    };
  }
  if (host?.endsWith('.dynamics.com')) {
    // learn.microsoft.com/power-apps/developer/data-platform/webapi/quick-start-console-app-csharp: WhoAmI needs no parameters.
    return { name: `Dataverse (${host})`, testCall: { label: 'GET WhoAmI', url: `${resource}/api/data/v9.2/WhoAmI` } };
  }
  if (host === 'storage.azure.com') {
    return {
      name: 'Azure Storage',
      note:
        'Azure Storage needs an account to call: e.g. GET https://<account>.blob.core.windows.net/?comp=list with the header ' +
        'x-ms-version: 2021-08-06, and a data role (Storage Blob Data Reader) on the account.',
    };
  }
  return { name: resource, note: "Call the API's own endpoints with this token." };
}

/**
 * The tenant's SharePoint host, when the username says it: `{name}.onmicrosoft.com` accounts have
 * `https://{name}.sharepoint.com`. Any other domain says nothing about it, so the page asks.
 */
export function sharePointGuessOf(username: string): string | undefined {
  const name = /^[^@\s]+@([a-z0-9-]{1,63})\.onmicrosoft\.com$/i.exec(username)?.[1];
  return name === undefined ? undefined : `https://${name.toLowerCase()}.sharepoint.com`;
}

function hostOf(resource: string): string | undefined {
  try {
    return new URL(resource).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
