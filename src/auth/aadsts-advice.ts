import type { Config } from '../config.ts';
import { ENTRA_APP } from '../error-catalogue.ts';

// What to do about the AADSTS codes people meet most, from Microsoft's list:
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes

/** The settings an advice may quote. */
type AdviceSettings = Pick<Config, 'redirectUri' | 'appId' | 'tenant' | 'clientCredential'>;

interface Advice {
  readonly title: string;
  readonly fix: (config: AdviceSettings) => string;
}

const SECRET: Advice = {
  title: "The app's client secret is wrong or expired",
  fix: () =>
    `Operator: create a new client secret in ${ENTRA_APP} › Certificates & secrets, copy its Value (not the Secret ID) into O365_APP_KEY, ` +
    'and restart the app. Better, stop depending on a secret that expires: use a certificate instead ' +
    '(npm run setup -- --certificate makes one; set O365_APP_CERT_PATH and O365_APP_CERT_KEY_PATH, empty O365_APP_KEY, and upload the ' +
    `certificate in ${ENTRA_APP} › Certificates & secrets › Certificates › Upload certificate).`,
};
const FEDERATED: Advice = {
  title: "Microsoft found no federated credential on the app that matches the platform's token",
  fix: () =>
    `Operator: in ${ENTRA_APP} › Certificates & secrets › Federated credentials, add one whose issuer and subject are exactly the ` +
    "platform token's iss and sub (see the details below; the comparison is case-sensitive) and whose audience is " +
    'api://AzureADTokenExchange. A credential added a moment ago can take a minute to be used.',
};
const CONSENT: Advice = {
  title: 'Permission to use the app was not given',
  fix: () =>
    'Sign in again and accept the permissions the app asks for. If your organisation lets only administrators approve apps, ' +
    `ask one to open ${ENTRA_APP} › API permissions and choose "Grant admin consent".`,
};
const USED_OR_EXPIRED: Advice = {
  title: 'This sign-in has already been used or has expired',
  fix: () => 'Nothing is wrong with your account: start the sign-in again.',
};

/** What to do about the AADSTS codes people meet most, keyed by number: it replaces the entry's title and fix on the page. */
const AADSTS_ADVICE: Record<string, Advice> = {
  '50011': {
    title: "The app's address is not registered with Microsoft",
    fix: (config) =>
      `The app sent the redirect URI ${config.redirectUri}. Register exactly this URI (same scheme, host, port and path) ` +
      `in ${ENTRA_APP} › Authentication › Web › Redirect URIs, or set BASE_URL to match the one registered there.`,
  },
  '7000215': SECRET,
  '7000222': SECRET,
  '700027': {
    title: "Microsoft does not accept the app's certificate",
    fix: (config) => {
      const credential = config.clientCredential;
      if (credential.kind !== 'certificate') {
        return `Operator: the client assertion's signature was refused. Check the app's credential settings and ${ENTRA_APP} › Certificates & secrets.`;
      }
      const { thumbprints } = credential.certificate;
      return (
        `Operator: upload the certificate file that O365_APP_CERT_PATH names to the app registration: ${ENTRA_APP} › Certificates & secrets › ` +
        `Certificates › Upload certificate, or az ad app credential reset --id ${config.appId} --cert @<that file> --append. ` +
        `The app signs with the certificate whose thumbprint is ${thumbprints.sha1Hex} (SHA-256 ${thumbprints.sha256Hex}): ` +
        'compare it with the Thumbprint column in the portal. If it is listed there, check that it has not expired and that the key file belongs to it.'
      );
    },
  },
  '700024': {
    title: "The app's client assertion is outside its valid time",
    fix: (config) =>
      config.clientCredential.kind === 'federated'
        ? "Operator: the platform's token in the federated token file has expired or is not valid yet: check that the platform still rotates it, and the server's clock."
        : "Operator: the server's clock is off. Microsoft compares the assertion's times with its own: synchronise the clock (NTP) and try again.",
  },
  '70021': FEDERATED,
  '700211': FEDERATED,
  '700212': FEDERATED,
  '700213': FEDERATED,
  '7002138': FEDERATED,
  '700016': {
    title: 'Microsoft does not know this app in this directory',
    fix: (config) =>
      `Operator: check that O365_APP_ID (${config.appId}) is the Application (client) ID from ${ENTRA_APP} › Overview, ` +
      `and that O365_TENANT (${config.tenant}) is a tenant where the app is registered — use "common" or "organizations" ` +
      'for an app registered for any organisation.',
  },
  '65001': CONSENT,
  '65004': CONSENT,
  '50020': {
    title: 'Your account is from an organisation this app does not accept',
    fix: (config) =>
      "Sign in with an account of the app's own tenant, or ask the operator to register the app for accounts in any organisation " +
      `(Supported account types) and set O365_TENANT=common (now: ${config.tenant}).`,
  },
  '54005': USED_OR_EXPIRED,
  '70008': USED_OR_EXPIRED,
  '90014': {
    title: 'Microsoft received an incomplete sign-in request',
    fix: () =>
      'Start the sign-in again from the home page rather than from a bookmark or an old link. ' +
      'If it keeps happening, the operator should look for a proxy that strips query parameters.',
  },
};

/** A specific title and fix for a known AADSTS code (or access_denied), or undefined to keep the entry's own. */
export function adviceFor(
  details: { error?: string; aadsts?: string },
  config: AdviceSettings,
): { title: string; fix: string } | undefined {
  const advice =
    (details.aadsts === undefined ? undefined : AADSTS_ADVICE[details.aadsts]) ?? (details.error === 'access_denied' ? CONSENT : undefined);
  return advice === undefined ? undefined : { title: advice.title, fix: advice.fix(config) };
}
