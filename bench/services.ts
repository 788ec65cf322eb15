import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { BenchContext } from './bench-context.ts';
import { startService } from './processes.ts';
import type { Service } from './processes.ts';

/** The local provider as the bench started it. */
export interface Provider {
  readonly origin: string;
  readonly tenantId: string;
  stop(): void;
}

/** The environment of the bench's children: ours, without the settings of the shell that runs the bench. */
export function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      !/^(NODE_ENV|NODE_OPTIONS|O365_.*|BASE_URL|PORT|HOST|DATABASE_URL|SESSION_.*|TOKEN_ENCRYPTION_KEY.*|GRAPH_BASE_URL|TRUST_PROXY|SIGN_IN_RATE_LIMIT)$/.test(
        name,
      )
    )
      env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * What a user fills in for `npm start` (and `npm run token` reads), pointing at the local provider. The optional
 * settings and NODE_ENV are empty, which the app reads as unset, so a developer's .env cannot change them (dotenv never overrides).
 */
export function appEnvironment(context: BenchContext, idpOrigin: string, port: number, databaseFile: string): NodeJS.ProcessEnv {
  const unset = [
    'NODE_ENV',
    'O365_SCOPES',
    'O365_HTTP_TIMEOUT_MS',
    'O365_ALLOWED_TENANTS',
    'SESSION_IDLE_MINUTES',
    'SESSION_MAX_HOURS',
    'TOKEN_ENCRYPTION_KEYS_PREVIOUS',
    'TRUST_PROXY',
  ];
  return childEnvironment({
    ...Object.fromEntries(unset.map((name) => [name, ''])),
    O365_APP_ID: context.appClient.clientId,
    O365_APP_KEY: context.appClient.clientSecret,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: idpOrigin,
    GRAPH_BASE_URL: idpOrigin,
    BASE_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `file:${databaseFile}`,
    SESSION_SECRET: context.sessionSecret,
    TOKEN_ENCRYPTION_KEY: context.tokenEncryptionKey,
    SIGN_IN_RATE_LIMIT: '1000000',
  });
}

/** Our app as a user starts it: `npm start` in the project folder. */
export function startApp(context: BenchContext, idpOrigin: string, port: number, databaseFile: string): Promise<Service> {
  return startService({
    name: 'our app (npm start)',
    command: ['npm', 'start'],
    cwd: context.projectRoot,
    env: appEnvironment(context, idpOrigin, port, databaseFile),
    port,
    core: context.serverCore,
  });
}

/** The bare Express + EJS baseline serving the templates in `viewsDirectory`. */
export function startBare(context: BenchContext, port: number, viewsDirectory: string): Promise<Service> {
  return startService({
    name: 'bare Express',
    command: [process.execPath, path.join(context.projectRoot, 'bench', 'baselines', 'bare-express.mjs')],
    cwd: context.projectRoot,
    env: childEnvironment({ PORT: String(port), BENCH_VIEWS: viewsDirectory }),
    port,
    core: context.serverCore,
  });
}

/** The express-openid-connect baseline, signing in at the local provider; `nodeFlags` go before the script (--cpu-prof). */
export function startEoc(
  context: BenchContext,
  idp: { origin: string; tenantId: string },
  port: number,
  nodeFlags: readonly string[] = [],
): Promise<Service> {
  return startService({
    name: 'express-openid-connect app',
    command: [process.execPath, ...nodeFlags, '--import', 'tsx', path.join(context.projectRoot, 'bench', 'baselines', 'eoc-app.ts')],
    cwd: context.projectRoot,
    env: childEnvironment({
      // A concrete tenant: its discovery issuer is the tenant's, not the {tenantid} template of `common`.
      EOC_ISSUER: `${idp.origin}/${idp.tenantId}/v2.0`,
      BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      EOC_CLIENT_ID: context.eocClient.clientId,
      EOC_CLIENT_SECRET: context.eocClient.clientSecret,
      EOC_SECRET: crypto.randomBytes(32).toString('base64url'),
    }),
    port,
    core: context.serverCore,
  });
}

/** The local provider in its own process (its CPU is never the app's), with both relying parties registered. */
export async function startProvider(context: BenchContext, appPorts: number[], eocPort: number): Promise<Provider> {
  const clients = [
    { ...context.appClient, redirectUris: appPorts.map((port) => `http://127.0.0.1:${port}/connect/get_token`) },
    { ...context.eocClient, redirectUris: [`http://127.0.0.1:${eocPort}/callback`] },
  ];
  const command = [process.execPath, '--import', 'tsx', path.join(context.projectRoot, 'bench', 'idp-process.ts')];
  const [file, ...rest] = context.clientCore === undefined ? command : ['taskset', '-c', String(context.clientCore), ...command];
  const child = spawn(file!, rest, {
    cwd: context.projectRoot,
    env: childEnvironment({ BENCH_IDP_CLIENTS: JSON.stringify(clients) }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.on('error', reject);
    child.once('exit', (code) => reject(new Error(`the local provider exited (${code}) before it started`)));
  });
  const started = JSON.parse(firstLine) as { origin: string; tenantId: string };
  const stop = () => {
    child.kill('SIGTERM');
  };
  context.stops.add(stop);
  return { ...started, stop };
}
