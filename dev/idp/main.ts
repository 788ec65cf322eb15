// Development only: runs the local Microsoft-compatible identity provider on its own (never part of `npm start`).
import { startIdentityProvider } from './index.ts';

const port = Number.parseInt(process.env.DEMO_IDP_PORT ?? '5001', 10);
const baseUrl = (process.env.BASE_URL ?? 'http://127.0.0.1:5000').replace(/\/+$/, '');
const clientId = process.env.O365_APP_ID;
const clientSecret = process.env.O365_APP_KEY;

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`DEMO_IDP_PORT: '${process.env.DEMO_IDP_PORT}' is not a port number; set it to a number from 0 to 65535.`);
  process.exit(1);
}
if (clientId === undefined || clientId === '' || clientSecret === undefined || clientSecret === '') {
  console.error('O365_APP_ID and O365_APP_KEY: both must be set; the local provider registers them as its only client.');
  process.exit(1);
}

const idp = await startIdentityProvider({
  port,
  clients: [{ clientId, clientSecret, redirectUris: [`${baseUrl}/connect/get_token`], postLogoutRedirectUris: [`${baseUrl}/`] }],
});

console.log(`Local Microsoft identity provider (development only) at ${idp.origin}`);
console.log(`  O365_AUTHORITY_HOST=${idp.origin}  GRAPH_BASE_URL=${idp.graphBaseUrl}  tenant ${idp.tenantId}`);
console.log(`  redirect URI ${baseUrl}/connect/get_token`);
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
