// npm run demo: the app and the bundled local identity provider together, with throw-away secrets. Development only.
import 'dotenv/config';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/start-server.ts';
import { startIdentityProvider } from '../dev/idp/index.ts';

const SECRETS_FILE = path.resolve('data', 'demo-secrets.json');

interface DemoSecrets { appId: string; appKey: string; sessionSecret: string; tokenEncryptionKey: string }

/** Throw-away secrets, kept in data/ so a restarted demo still knows its sessions and can read its tokens. */
function loadDemoSecrets(): DemoSecrets {
  try {
    return JSON.parse(fs.readFileSync(SECRETS_FILE, 'utf8')) as DemoSecrets;
  } catch {
    const secrets: DemoSecrets = {
      appId: crypto.randomUUID(),
      appKey: crypto.randomBytes(24).toString('base64url'),
      sessionSecret: crypto.randomBytes(32).toString('base64url'),
      tokenEncryptionKey: crypto.randomBytes(32).toString('base64'),
    };
    fs.mkdirSync(path.dirname(SECRETS_FILE), { recursive: true });
    fs.writeFileSync(SECRETS_FILE, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
  }
}

const secrets = loadDemoSecrets();
const idpPort = Number(process.env.DEMO_IDP_PORT ?? 5001);
const idpHost = '127.0.0.1';
const authority = `http://${idpHost}:${idpPort}`;

// PORT, BASE_URL and HOST are honoured as by npm start; the Microsoft settings point at the local provider.
const parsed = parseConfig({
  ...process.env,
  O365_APP_ID: secrets.appId,
  O365_APP_KEY: secrets.appKey,
  O365_TENANT: 'common',
  O365_AUTHORITY_HOST: authority,
  GRAPH_BASE_URL: authority,
  DATABASE_URL: process.env.DEMO_DATABASE_URL ?? 'file:./data/demo.db',
  SESSION_SECRET: secrets.sessionSecret,
  TOKEN_ENCRYPTION_KEY: secrets.tokenEncryptionKey,
  NODE_ENV: 'development',
});
if (!parsed.ok) {
  console.error('The demo cannot start:');
  for (const problem of parsed.problems) console.error(`  - ${problem}`);
  process.exit(1);
}
const { config } = parsed;

try {
  const idp = await startIdentityProvider({
    port: idpPort,
    host: idpHost,
    clients: [{ clientId: config.appId, clientSecret: config.appKey, redirectUris: [config.redirectUri], postLogoutRedirectUris: [`${config.baseUrl}/`] }],
  });
  const server = await startServer(config, createLogger());
  const account = idp.accounts[0]!;
  console.log('');
  console.log(`  o365-signin demo is running: open ${config.baseUrl}/`);
  console.log(`  Local identity provider (development only): ${idp.origin}`);
  console.log(`  Test account: ${account.username}   password: ${account.password}`);
  console.log(`  Other accounts: ${idp.accounts.slice(1).map((other) => other.username).join(', ')} (same password)`);
  console.log('  Press Ctrl-C to stop both.');
  console.log('');
  const stop = () => {
    console.log('Stopping the app and the local identity provider…');
    Promise.all([server.close(), idp.close()]).then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  const message = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    ? `a port is already in use (${(error as Error).message}); set PORT and BASE_URL, or DEMO_IDP_PORT, to free ones`
    : (error as Error).message;
  console.error(`The demo cannot start: ${message}`);
  process.exit(1);
}
