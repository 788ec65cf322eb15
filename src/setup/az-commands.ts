/** Microsoft Entra's names for who may sign in to an app registration (`az ad app create --sign-in-audience`). */
export type SignInAudience = 'AzureADandPersonalMicrosoftAccount' | 'AzureADMultipleOrgs' | 'PersonalMicrosoftAccount' | 'AzureADMyOrg';

export interface AzCommands {
  /** Only for a single tenant: az registers the app in the tenant it is signed in to. */
  readonly login: string | undefined;
  readonly createApp: string;
  readonly createSecret: string;
  /** Adds the certificate to the app's credentials (`--append` keeps the others); the file holds no private key. */
  uploadCertificate(certificatePath: string): string;
}

export const APP_DISPLAY_NAME = 'o365-signin';

// Microsoft Graph's application id and its delegated User.Read permission id (the same in every tenant).
const GRAPH_USER_READ =
  '[{"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","type":"Scope"}]}]';

/** The audience that matches O365_TENANT: common, organizations and consumers by name; a tenant ID or domain is that one organisation. */
export function signInAudienceFor(tenant: string): SignInAudience {
  switch (tenant.toLowerCase()) {
    case 'common':
      return 'AzureADandPersonalMicrosoftAccount';
    case 'organizations':
      return 'AzureADMultipleOrgs';
    case 'consumers':
      return 'PersonalMicrosoftAccount';
    default:
      return 'AzureADMyOrg';
  }
}

/** Azure CLI commands that register the app with exactly this redirect URI, and create a client secret for `appId`. */
export function buildAzCommands({ appId, tenant, redirectUri }: { appId: string; tenant: string; redirectUri: string }): AzCommands {
  const audience = signInAudienceFor(tenant);
  return {
    login: audience === 'AzureADMyOrg' ? `az login --tenant ${quoteForShell(tenant)}` : undefined,
    createApp: [
      'az ad app create',
      `--display-name ${APP_DISPLAY_NAME}`,
      `--sign-in-audience ${audience}`,
      `--web-redirect-uris ${quoteForShell(redirectUri)}`,
      `--required-resource-accesses ${quoteForShell(GRAPH_USER_READ)}`,
      '--query appId --output tsv',
    ].join(' '),
    createSecret: `az ad app credential reset --id ${quoteForShell(appId)} --append --display-name ${APP_DISPLAY_NAME} --query password --output tsv`,
    uploadCertificate: (certificatePath) =>
      `az ad app credential reset --id ${quoteForShell(appId)} --cert ${quoteForShell(`@${certificatePath}`)} --append`,
  };
}

/** The value as one POSIX shell word: unchanged when it is safe, else in single quotes. */
export function quoteForShell(value: string): string {
  if (/^[A-Za-z0-9_.,:/@%+=-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
