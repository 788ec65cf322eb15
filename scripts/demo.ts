// npm run demo: the app and the bundled local identity provider together, with throw-away secrets. Development only.
import '../src/load-env.ts';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/start-server.ts';
import { startIdentityProvider } from '../dev/idp/index.ts';
import { demoEnvironment, demoIdpPort } from '../dev/demo-settings.ts';

const parsed = parseConfig(demoEnvironment(process.env));
if (!parsed.ok) {
  console.error('The demo cannot start:');
  for (const problem of parsed.problems) console.error(`  - ${problem}`);
  process.exit(1);
}
const { config } = parsed;

try {
  const idp = await startIdentityProvider({
    port: demoIdpPort(process.env),
    host: '127.0.0.1',
    clients: [{ clientId: config.appId, clientSecret: config.appKey, redirectUris: [config.redirectUri], postLogoutRedirectUris: [`${config.baseUrl}/`] }],
  });
  const server = await startServer(config, createLogger());
  const stop = () => {
    console.log('Stopping the app and the local identity provider…');
    Promise.all([server.close(), idp.close()]).then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const account = idp.accounts[0]!;
  console.log('');
  console.log(`  o365-signin demo is running: open ${config.baseUrl}/`);
  console.log(`  Local identity provider (development only): ${idp.origin}`);
  console.log(`  Test account: ${account.username}   password: ${account.password}`);
  console.log(`  Other accounts: ${idp.accounts.slice(1).map((other) => other.username).join(', ')} (same password)`);
  console.log('  A token for scripts, while the demo runs: npm run -s token -- --demo');
  console.log('  Press Ctrl-C to stop both.');
  console.log('');
} catch (error) {
  const message = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    ? `a port is already in use (${(error as Error).message}); set PORT and BASE_URL, or DEMO_IDP_PORT, to free ones`
    : (error as Error).message;
  console.error(`The demo cannot start: ${message}`);
  process.exit(1);
}
