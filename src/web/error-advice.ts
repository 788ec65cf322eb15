import type { Config } from '../config.ts';
import type { ProviderDetails } from '../errors.ts';

interface Advice {
  readonly title: string;
  readonly fix: (config: Pick<Config, 'redirectUri' | 'appId' | 'tenant'>) => string;
}

const ENTRA_APP = 'Microsoft Entra admin center › App registrations › your app';

const SECRET: Advice = {
  title: 'The app\'s client secret is wrong or expired',
  fix: () => `Operator: create a new client secret in ${ENTRA_APP} › Certificates & secrets, copy its Value (not the Secret ID) into O365_APP_KEY, and restart the app.`,
};
const CONSENT: Advice = {
  title: 'Permission to use the app was not given',
  fix: () => `Sign in again and accept the permissions the app asks for. If your organisation lets only administrators approve apps, ask one to open ${ENTRA_APP} › API permissions and choose "Grant admin consent".`,
};
const SIGN_IN_AGAIN: Advice = {
  title: 'This sign-in has already been used or has expired',
  fix: () => 'Nothing is wrong with your account: start the sign-in again.',
};

/** What to do about the AADSTS codes people meet most, keyed by number. */
const ADVICE: Record<string, Advice> = {
  '50011': {
    title: 'The app\'s address is not registered with Microsoft',
    fix: (config) => `The app sent the redirect URI ${config.redirectUri}. Register exactly this URI (same scheme, host, port and path) in ${ENTRA_APP} › Authentication › Web › Redirect URIs, or set BASE_URL to match the one registered there.`,
  },
  '7000215': SECRET,
  '7000222': SECRET,
  '700016': {
    title: 'Microsoft does not know this app in this directory',
    fix: (config) => `Operator: check that O365_APP_ID (${config.appId}) is the Application (client) ID from ${ENTRA_APP} › Overview, and that O365_TENANT (${config.tenant}) is a tenant where the app is registered — use "common" or "organizations" for an app registered for any organisation.`,
  },
  '65001': CONSENT,
  '65004': CONSENT,
  '50020': {
    title: 'Your account is from an organisation this app does not accept',
    fix: (config) => `Sign in with an account of the app's own tenant, or ask the operator to register the app for accounts in any organisation (Supported account types) and set O365_TENANT=common (now: ${config.tenant}).`,
  },
  '54005': SIGN_IN_AGAIN,
  '70008': SIGN_IN_AGAIN,
  '90014': {
    title: 'Microsoft received an incomplete sign-in request',
    fix: () => 'Start the sign-in again from the home page rather than from a bookmark or an old link. If it keeps happening, the operator should look for a proxy that strips query parameters.',
  },
};

/** A specific title and fix for a known AADSTS code (or access_denied), or undefined to keep the general ones. */
export function adviceFor(details: ProviderDetails, config: Pick<Config, 'redirectUri' | 'appId' | 'tenant'>): { title: string; fix: string } | undefined {
  const advice = (details.aadsts !== undefined ? ADVICE[details.aadsts] : undefined) ?? (details.error === 'access_denied' ? CONSENT : undefined);
  return advice === undefined ? undefined : { title: advice.title, fix: advice.fix(config) };
}
