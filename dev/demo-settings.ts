// Development only: the settings `npm run demo` runs with, shared with `npm run token -- --demo`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseSettings } from '../src/config.ts';
import { developmentSettingsSchema } from './development-settings.ts';
import type { Environment, SettingsResult } from '../src/config.ts';
import { readCertificateFile } from '../src/auth/client-certificate.ts';
import { ensurePrivateFolder } from '../src/db/database-url.ts';

// The project's data/ folder, wherever the command was started from.
const DATA_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');
const SECRETS_FILE_NAME = 'demo-secrets.json';
const SECRETS_FILE = path.join(DATA_FOLDER, SECRETS_FILE_NAME);
const RUN_FILE_NAME = 'demo-running.json';
const CERTIFICATE_NAMES = { certificate: 'demo-certificate.pem', key: 'demo-certificate-key.pem' };
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

function readDemoSecrets(folder = DATA_FOLDER): DemoSecrets | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, SECRETS_FILE_NAME), 'utf8')) as DemoSecrets;
  } catch {
    return undefined;
  }
}

/** Where a running demo serves and keeps its data: `npm run token -- --demo` must not guess them from its own environment. */
export interface DemoRun {
  /** The demo process; a record whose process has ended is stale. */
  readonly pid: number;
  /** Its BASE_URL, the address people open. */
  readonly baseUrl: string;
  /** The local provider's port (DEMO_IDP_PORT): refreshes go there. */
  readonly idpPort: number;
  /** The database the app uses (with several instances, the embedded PostgreSQL's URL and password). */
  readonly databaseUrl: string;
}

/** Records the running demo in data/ (owner only: it may hold a database password); returns what removes the record. */
export function recordDemoRun(run: Omit<DemoRun, 'pid'>, folder = DATA_FOLDER): () => void {
  const file = path.join(folder, RUN_FILE_NAME);
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, ...run }, null, 2), { mode: 0o600 });
  const remove = () => {
    process.off('exit', remove);
    fs.rmSync(file, { force: true });
  };
  process.once('exit', remove);
  return remove;
}

const demoRunSchema = z.object({
  pid: z.number().int().positive(),
  baseUrl: z.string(),
  idpPort: z.number().int(),
  databaseUrl: z.string(),
});

/** The record of a demo whose process still runs, or undefined. */
function readDemoRun(folder: string): DemoRun | undefined {
  try {
    const run = demoRunSchema.parse(JSON.parse(fs.readFileSync(path.join(folder, RUN_FILE_NAME), 'utf8')));
    return processIsRunning(run.pid) ? run : undefined;
  } catch {
    return undefined;
  }
}

function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Throw-away secrets, kept in data/ (0700, like every database folder) so a restarted demo still knows its sessions and can read its tokens. */
function loadDemoSecrets(): DemoSecrets {
  ensurePrivateFolder(DATA_FOLDER);
  const existing = readDemoSecrets();
  if (existing !== undefined) return existing;
  const secrets: DemoSecrets = {
    appId: crypto.randomUUID(),
    appKey: crypto.randomBytes(24).toString('base64url'),
    sessionSecret: crypto.randomBytes(32).toString('base64url'),
    tokenEncryptionKey: crypto.randomBytes(32).toString('base64'),
  };
  fs.writeFileSync(SECRETS_FILE, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** Where the demo keeps its certificate and key. */
function certificateFilesIn(folder: string): { certificate: string; key: string } {
  return { certificate: path.join(folder, CERTIFICATE_NAMES.certificate), key: path.join(folder, CERTIFICATE_NAMES.key) };
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
  const certificate = readCertificateFile(certificateFilesIn(DATA_FOLDER).certificate, Date.now());
  return { clientSecret: loadDemoSecrets().appKey, certificates: certificate.ok ? [certificate.file.pem] : [] };
}

/** What the demo runs with: the local provider's port, and the environment the app parses. */
export interface DemoSettings {
  /** DEMO_IDP_PORT, default 5001. */
  readonly idpPort: number;
  readonly environment: Environment;
}

const demoVariables = developmentSettingsSchema.pick({ DEMO_IDP_PORT: true, DEMO_DATABASE_URL: true });

/**
 * The settings of the demo: PORT, HOST and BASE_URL as given (like npm start); the Microsoft settings
 * pointing at the local provider; a database and secrets of its own in the project's data/ folder.
 */
export function demoSettings(env: Environment, options: { certificate?: boolean } = {}): SettingsResult<DemoSettings> {
  const demo = parseSettings(demoVariables, env);
  if (!demo.ok) return demo;
  const environment = environmentWith(
    env,
    demo.settings,
    loadDemoSecrets(),
    options.certificate ? certificateFilesIn(DATA_FOLDER) : undefined,
  );
  return { ok: true, settings: { idpPort: demo.settings.DEMO_IDP_PORT, environment } };
}

/**
 * The demo's environment for a command that only reads its data (`npm run token -- --demo`): undefined when the demo
 * never ran. While it runs, its recorded address, provider port and database replace BASE_URL, DEMO_IDP_PORT and
 * DEMO_DATABASE_URL, so the command names the address the demo really serves and reaches its database and provider.
 * It uses the demo's certificate once one was made (the demo's provider accepts it as well as the secret).
 */
export function existingDemoEnvironment(env: Environment, folder = DATA_FOLDER): SettingsResult<Environment> | undefined {
  const secrets = readDemoSecrets(folder);
  if (secrets === undefined) return undefined;
  const run = readDemoRun(folder);
  const running =
    run === undefined ? env : { ...env, BASE_URL: run.baseUrl, DEMO_IDP_PORT: String(run.idpPort), DEMO_DATABASE_URL: run.databaseUrl };
  const demo = parseSettings(demoVariables, running);
  const certificate = certificateFilesIn(folder);
  const made = fs.existsSync(certificate.certificate) && fs.existsSync(certificate.key);
  return demo.ok ? { ok: true, settings: environmentWith(running, demo.settings, secrets, made ? certificate : undefined) } : demo;
}

function environmentWith(
  env: Environment,
  demo: z.output<typeof demoVariables>,
  secrets: DemoSecrets,
  certificate: { certificate: string; key: string } | undefined,
): Environment {
  const authority = `http://127.0.0.1:${demo.DEMO_IDP_PORT}`;
  const credential =
    certificate === undefined
      ? { O365_APP_KEY: secrets.appKey }
      : { O365_APP_CERT_PATH: certificate.certificate, O365_APP_CERT_KEY_PATH: certificate.key };
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
