// Development only: runs the local Microsoft-compatible identity provider on its own (never part of `npm start`).
import { parseSettings, redirectUriFor } from '../../src/config.ts';
import { developmentSettingsSchema } from '../development-settings.ts';
import { startIdentityProvider } from './index.ts';

const parsed = parseSettings(
  developmentSettingsSchema.pick({ O365_APP_ID: true, O365_APP_KEY: true, O365_APP_CERT_PATH: true, BASE_URL: true, DEMO_IDP_PORT: true }),
  process.env,
);
const missingCredential =
  parsed.ok && parsed.settings.O365_APP_KEY === undefined && parsed.settings.O365_APP_CERT_PATH === undefined
    ? ['O365_APP_KEY is missing: set the client secret (or O365_APP_CERT_PATH, the certificate) to register for O365_APP_ID.']
    : [];
if (!parsed.ok || missingCredential.length > 0) {
  console.error(
    'The local identity provider cannot start (it registers O365_APP_ID with O365_APP_KEY and/or the certificate in O365_APP_CERT_PATH as its only client):',
  );
  for (const problem of parsed.ok ? missingCredential : parsed.problems) console.error(`  - ${problem}`);
  process.exit(1);
}
const {
  O365_APP_ID: clientId,
  O365_APP_KEY: clientSecret,
  O365_APP_CERT_PATH: certificate,
  BASE_URL: baseUrl,
  DEMO_IDP_PORT: port,
} = parsed.settings;
const redirectUri = redirectUriFor(baseUrl);

const idp = await startIdentityProvider({
  port,
  clients: [
    {
      clientId,
      clientSecret,
      certificates: certificate === undefined ? [] : [certificate.pem],
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [`${baseUrl}/`],
    },
  ],
});

console.log(`Local Microsoft identity provider (development only) at ${idp.origin}`);
console.log(`  O365_AUTHORITY_HOST=${idp.origin}  GRAPH_BASE_URL=${idp.graphBaseUrl}  tenant ${idp.tenantId}`);
console.log(`  redirect URI ${redirectUri}`);
console.log('  test accounts:');
for (const account of idp.accounts) {
  console.log(`    ${account.username}  password ${account.password}  (${account.displayName})`);
}

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, stopping the local identity provider`);
  idp.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('could not stop cleanly:', error);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
