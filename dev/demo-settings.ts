// Development only: the settings `npm run demo` runs with, shared with `npm run token -- --demo`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { parseSettings, settingsSchema } from '../src/config.ts';
import type { Environment, SettingsResult } from '../src/config.ts';
import { readCertificateFile } from '../src/auth/client-certificate.ts';

// The project's data/ folder, wherever the command was started from.
const DATA_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');
const SECRETS_FILE = path.join(DATA_FOLDER, 'demo-secrets.json');
const CERTIFICATE_NAMES = { certificate: 'demo-certificate.pem', key: 'demo-certificate-key.pem' };
const CERTIFICATE_FILE = path.join(DATA_FOLDER, CERTIFICATE_NAMES.certificate);
const CERTIFICATE_KEY_FILE = path.join(DATA_FOLDER, CERTIFICATE_NAMES.key);
// Settings of the developer's .env that would stand beside the demo's own credential.
const CREDENTIAL_VARIABLES = [
  'O365_APP_KEY',
  'O365_APP_CERT_PATH',
  'O365_APP_CERT_KEY_PATH',
  'O365_APP_CERT_KEY_PASSPHRASE',
  'O365_CLIENT_ASSERTION_FILE',
  'AZURE_FEDERATED_TOKEN_FILE',
] as const;

interface DemoSecrets {
  appId: string;
  appKey: string;
  sessionSecret: string;
  tokenEncryptionKey: string;
}

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

/** The demo's certificate in data/, made once (again only when it has expired) for `npm run demo -- --certificate`. */
export async function ensureDemoCertificate(): Promise<{ created: boolean; certificatePath: string }> {
  // Loaded only here: `npm run token -- --demo` reads these settings too and never makes a certificate.
  const { ensureCertificateFiles } = await import('../src/setup/self-signed-certificate.ts');
  const files = await ensureCertificateFiles(DATA_FOLDER, CERTIFICATE_NAMES, 'o365-signin demo');
  return { created: files.created, certificatePath: files.certificatePath };
}

/** The demo app's registration at the local provider: its secret, and its certificate once one was made (either may sign in). */
export function demoClientRegistration(): { clientSecret: string; certificates: string[] } {
  const certificate = readCertificateFile(CERTIFICATE_FILE, Date.now());
  return { clientSecret: loadDemoSecrets().appKey, certificates: certificate.ok ? [certificate.file.pem] : [] };
}

/** What the demo runs with: the local provider's port, and the environment the app parses. */
export interface DemoSettings {
  /** DEMO_IDP_PORT, default 5001. */
  readonly idpPort: number;
  readonly environment: Environment;
}

const demoVariables = settingsSchema.pick({ DEMO_IDP_PORT: true, DEMO_DATABASE_URL: true });

/**
 * The settings of the demo: PORT, HOST and BASE_URL as given (like npm start); the Microsoft settings
 * pointing at the local provider; a database and secrets of its own in the project's data/ folder.
 */
export function demoSettings(env: Environment, options: { certificate?: boolean } = {}): SettingsResult<DemoSettings> {
  const demo = parseSettings(demoVariables, env);
  if (!demo.ok) return demo;
  const environment = environmentWith(env, demo.settings, loadDemoSecrets(), options.certificate === true);
  return { ok: true, settings: { idpPort: demo.settings.DEMO_IDP_PORT, environment } };
}

/**
 * The demo's environment for a command that only reads its data (`npm run token -- --demo`): undefined when the demo never
 * ran. It uses the demo's certificate once one was made (the demo's provider accepts it as well as the secret).
 */
export function existingDemoEnvironment(env: Environment): SettingsResult<Environment> | undefined {
  const secrets = readDemoSecrets();
  if (secrets === undefined) return undefined;
  const demo = parseSettings(demoVariables, env);
  const certificate = fs.existsSync(CERTIFICATE_FILE) && fs.existsSync(CERTIFICATE_KEY_FILE);
  return demo.ok ? { ok: true, settings: environmentWith(env, demo.settings, secrets, certificate) } : demo;
}

function environmentWith(env: Environment, demo: z.output<typeof demoVariables>, secrets: DemoSecrets, certificate: boolean): Environment {
  const authority = `http://127.0.0.1:${demo.DEMO_IDP_PORT}`;
  const credential = certificate
    ? { O365_APP_CERT_PATH: CERTIFICATE_FILE, O365_APP_CERT_KEY_PATH: CERTIFICATE_KEY_FILE }
    : { O365_APP_KEY: secrets.appKey };
  return {
    ...env,
    ...Object.fromEntries(CREDENTIAL_VARIABLES.map((name) => [name, undefined])),
    ...credential,
    O365_APP_ID: secrets.appId,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: authority,
    GRAPH_BASE_URL: authority,
    DATABASE_URL: demo.DEMO_DATABASE_URL ?? `file:${path.join(DATA_FOLDER, 'demo.db')}`,
    SESSION_SECRET: secrets.sessionSecret,
    TOKEN_ENCRYPTION_KEY: secrets.tokenEncryptionKey,
    NODE_ENV: 'development',
  };
}
