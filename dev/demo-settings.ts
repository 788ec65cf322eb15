// Development only: the settings `npm run demo` runs with, shared with `npm run token -- --demo`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { parseSettings, settingsSchema } from '../src/config.ts';
import type { Environment, SettingsResult } from '../src/config.ts';
import { ensurePrivateFolder } from '../src/db/database-url.ts';

// The project's data/ folder, wherever the command was started from.
const DATA_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');
const SECRETS_FILE = path.join(DATA_FOLDER, 'demo-secrets.json');

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
export function demoSettings(env: Environment): SettingsResult<DemoSettings> {
  const demo = parseSettings(demoVariables, env);
  if (!demo.ok) return demo;
  return {
    ok: true,
    settings: { idpPort: demo.settings.DEMO_IDP_PORT, environment: environmentWith(env, demo.settings, loadDemoSecrets()) },
  };
}

/** The demo's environment for a command that only reads its data (`npm run token -- --demo`): undefined when the demo never ran. */
export function existingDemoEnvironment(env: Environment): SettingsResult<Environment> | undefined {
  const secrets = readDemoSecrets();
  if (secrets === undefined) return undefined;
  const demo = parseSettings(demoVariables, env);
  return demo.ok ? { ok: true, settings: environmentWith(env, demo.settings, secrets) } : demo;
}

function environmentWith(env: Environment, demo: z.output<typeof demoVariables>, secrets: DemoSecrets): Environment {
  const authority = `http://127.0.0.1:${demo.DEMO_IDP_PORT}`;
  return {
    ...env,
    O365_APP_ID: secrets.appId,
    O365_APP_KEY: secrets.appKey,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: authority,
    GRAPH_BASE_URL: authority,
    DATABASE_URL: demo.DEMO_DATABASE_URL ?? `file:${path.join(DATA_FOLDER, 'demo.db')}`,
    SESSION_SECRET: secrets.sessionSecret,
    TOKEN_ENCRYPTION_KEY: secrets.tokenEncryptionKey,
    NODE_ENV: 'development',
  };
}
