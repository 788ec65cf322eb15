// npm run demo: the app and the bundled local identity provider together, with throw-away secrets. Development only.
// npm run demo -- --instances N: N app processes on an embedded PostgreSQL behind a round-robin proxy (dev/demo-instances.ts).
import '../src/load-env.ts';
import { parseConfig } from '../src/config.ts';
import type { Config } from '../src/config.ts';
import { isPostgresUrl, sqliteFilePath } from '../src/db/database-url.ts';
import { createProcessLogger } from '../src/log.ts';
import { startServer } from '../src/start-server.ts';
import { demoSettings, recordDemoRun } from '../dev/demo-settings.ts';
import { startDemoIdentityProvider } from '../dev/demo-identity-provider.ts';
import { startSeveralInstances } from '../dev/demo-instances.ts';

/** `--instances N` (1–8, default 1); anything else prints the usage and exits 2. */
function parseInstances(args: string[]): number {
  if (args.length === 0) return 1;
  const [first = '', second] = args;
  const value = first === '--instances' ? second : first.startsWith('--instances=') ? first.slice('--instances='.length) : undefined;
  if (value === undefined || !/^[1-8]$/.test(value) || args.length > (first === '--instances' ? 2 : 1)) {
    console.error(
      'usage: npm run demo [-- --instances N]   (N from 1 to 8; 2 or more run on an embedded PostgreSQL behind a round-robin proxy)',
    );
    process.exit(2);
  }
  return Number(value);
}

/** The app in this process on the demo's SQLite file, and the provider; returns how to stop both. */
async function startOneInstance(config: Config, idpPort: number): Promise<() => Promise<unknown>> {
  const idp = await startDemoIdentityProvider(config, idpPort);
  const server = await startServer(config, await createProcessLogger({ production: config.production }));
  const account = idp.accounts[0]!;
  console.log('');
  console.log(`  o365-signin demo is running: open ${config.baseUrl}/`);
  console.log(`  Local identity provider (development only): ${idp.origin}`);
  console.log(`  Test account: ${account.username}   password: ${account.password}`);
  console.log(
    `  Other accounts: ${idp.accounts
      .slice(1)
      .map((other) => other.username)
      .join(', ')} (same password)`,
  );
  console.log('  A token for scripts, while the demo runs: npm run -s token -- --demo');
  console.log('  Press Ctrl-C to stop both.');
  console.log('');
  return () => Promise.all([server.close(), idp.close()]);
}

/** A SQLite URL relative to this folder, made absolute: the record is read from wherever npm run token runs. */
function absoluteDatabaseUrl(databaseUrl: string): string {
  return isPostgresUrl(databaseUrl) ? databaseUrl : `file:${sqliteFilePath(databaseUrl)}`;
}

function refuseToStart(problems: string[]): never {
  console.error('The demo cannot start:');
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
}

const instances = parseInstances(process.argv.slice(2));
const demo = demoSettings(process.env);
if (!demo.ok) refuseToStart(demo.problems);
const { environment, idpPort } = demo.settings;
const parsed = parseConfig(environment);
if (!parsed.ok) refuseToStart(parsed.problems);
const { config } = parsed;

try {
  const { stop: stopAll, databaseUrl } =
    instances === 1
      ? { stop: await startOneInstance(config, idpPort), databaseUrl: absoluteDatabaseUrl(config.databaseUrl) }
      : await startSeveralInstances(config, environment, idpPort, instances);
  // What npm run token -- --demo reads instead of guessing: this run's address, provider port and database.
  const forgetRun = recordDemoRun({ baseUrl: config.baseUrl, idpPort, databaseUrl });
  const stop = () => {
    forgetRun();
    console.log(
      instances === 1
        ? 'Stopping the app and the local identity provider…'
        : 'Stopping the proxy, the instances, the local identity provider and PostgreSQL…',
    );
    stopAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  const message =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `a port is already in use (${(error as Error).message}); set PORT and BASE_URL, or DEMO_IDP_PORT, to free ones`
      : (error as Error).message;
  console.error(`The demo cannot start: ${message}`);
  process.exit(1);
}
