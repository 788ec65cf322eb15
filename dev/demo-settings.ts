// Development only: the settings `npm run demo` runs with, shared with `npm run token -- --demo`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The project's data/ folder, wherever the command was started from.
const DATA_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');
const SECRETS_FILE = path.join(DATA_FOLDER, 'demo-secrets.json');

interface DemoSecrets { appId: string; appKey: string; sessionSecret: string; tokenEncryptionKey: string }

function readDemoSecrets(): DemoSecrets | undefined {
  try {
    return JSON.parse(fs.readFileSync(SECRETS_FILE, 'utf8')) as DemoSecrets;
  } catch {
    return undefined;
  }
}

/** Throw-away secrets, kept in data/ so a restarted demo still knows its sessions and can read its tokens. */
function loadDemoSecrets(): DemoSecrets {
  const existing = readDemoSecrets();
  if (existing !== undefined) return existing;
  const secrets: DemoSecrets = {
    appId: crypto.randomUUID(),
    appKey: crypto.randomBytes(24).toString('base64url'),
    sessionSecret: crypto.randomBytes(32).toString('base64url'),
    tokenEncryptionKey: crypto.randomBytes(32).toString('base64'),
  };
  fs.mkdirSync(DATA_FOLDER, { recursive: true });
  fs.writeFileSync(SECRETS_FILE, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** The local provider's port: DEMO_IDP_PORT, default 5001. */
export function demoIdpPort(env: Record<string, string | undefined>): number {
  return Number(env.DEMO_IDP_PORT ?? 5001);
}

/**
 * The environment of the demo: PORT, HOST and BASE_URL as given (like npm start); the Microsoft settings
 * pointing at the local provider; a database and secrets of its own in the project's data/ folder.
 */
export function demoEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return environmentWith(env, loadDemoSecrets());
}

/** The demo's environment for a command that only reads its data (`npm run token -- --demo`): undefined when the demo never ran. */
export function existingDemoEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> | undefined {
  const secrets = readDemoSecrets();
  return secrets === undefined ? undefined : environmentWith(env, secrets);
}

function environmentWith(env: Record<string, string | undefined>, secrets: DemoSecrets): Record<string, string | undefined> {
  const authority = `http://127.0.0.1:${demoIdpPort(env)}`;
  return {
    ...env,
    O365_APP_ID: secrets.appId,
    O365_APP_KEY: secrets.appKey,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: authority,
    GRAPH_BASE_URL: authority,
    DATABASE_URL: env.DEMO_DATABASE_URL ?? `file:${path.join(DATA_FOLDER, 'demo.db')}`,
    SESSION_SECRET: secrets.sessionSecret,
    TOKEN_ENCRYPTION_KEY: secrets.tokenEncryptionKey,
    NODE_ENV: 'development',
  };
}
