// Development only: the settings `npm run demo` runs with, shared with `npm run token -- --demo`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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

/** The local provider's port: DEMO_IDP_PORT, default 5001. */
export function demoIdpPort(env: Record<string, string | undefined>): number {
  return Number(env.DEMO_IDP_PORT ?? 5001);
}

/**
 * The environment of the demo: PORT, HOST and BASE_URL as given (like npm start); the Microsoft settings
 * pointing at the local provider; a database and secrets of its own under data/.
 */
export function demoEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const secrets = loadDemoSecrets();
  const authority = `http://127.0.0.1:${demoIdpPort(env)}`;
  return {
    ...env,
    O365_APP_ID: secrets.appId,
    O365_APP_KEY: secrets.appKey,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: authority,
    GRAPH_BASE_URL: authority,
    DATABASE_URL: env.DEMO_DATABASE_URL ?? 'file:./data/demo.db',
    SESSION_SECRET: secrets.sessionSecret,
    TOKEN_ENCRYPTION_KEY: secrets.tokenEncryptionKey,
    NODE_ENV: 'development',
  };
}
