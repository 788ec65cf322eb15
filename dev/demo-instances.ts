// Development only: `npm run demo -- --instances N`: N app processes on one throw-away PostgreSQL, behind the
// round-robin proxy on PORT, so a sign-in visibly crosses instances (each page's footer names the one that served it).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../src/config.ts';
import { startPostgresServer } from './postgres-server.ts';
import { startDemoIdentityProvider } from './demo-identity-provider.ts';
import { startRoundRobinProxy } from './round-robin-proxy.ts';
import { freePort } from './free-port.ts';
import { describeClientCredential } from '../src/auth/client-credential.ts';
import { severalInstancesBanner } from './demo-banner.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(projectRoot, 'src', 'server.ts');
const TSX_LOADER = import.meta.resolve('tsx');

/** Starts one `npm start` process (the TypeScript sources, like the demo) and resolves once it listens. */
function startInstance(
  name: string,
  port: number,
  env: Record<string, string | undefined>,
): { child: ChildProcess; running: Promise<void> } {
  // Its own process group: Ctrl-C reaches the demo, which stops each instance with SIGTERM.
  const child = spawn(process.execPath, ['--import', TSX_LOADER, SERVER], {
    cwd: projectRoot,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', INSTANCE_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const running = new Promise<void>((resolve, reject) => {
    const relay = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) process.stdout.write(`  [${name}] ${line}\n`);
      if (output.includes('is running')) resolve();
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
    // A process that cannot be spawned (EACCES, ENOENT) reports it here, never as an exit.
    child.on('error', reject);
    child.once('close', (code) => reject(new Error(`${name} stopped (exit code ${code}) before it was running`)));
  });
  return { child, running };
}

/**
 * The demo with `count` instances: an embedded PostgreSQL in a temporary folder (removed when the demo stops, so
 * each run starts empty and the instances migrate it at the same moment), the local provider, the instances on
 * free loopback ports and the proxy on PORT. Resolves once everything serves, with a stop function and the database's URL.
 */
export async function startSeveralInstances(
  config: Config,
  env: Record<string, string | undefined>,
  idpPort: number,
  count: number,
): Promise<{ stop: () => Promise<void>; databaseUrl: string }> {
  const postgres = await startPostgresServer();
  const children: ChildProcess[] = [];
  const stopChildren = () =>
    Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('close', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  try {
    const databaseUrl = await postgres.createDatabase();
    const idp = await startDemoIdentityProvider(config, idpPort);
    const names = Array.from({ length: count }, (_, index) => `instance-${index + 1}`);
    const ports = await Promise.all(names.map(() => freePort()));
    // The proxy is the only client of the instances: they read the browser's address from X-Forwarded-For.
    const instanceEnv = { ...env, DATABASE_URL: databaseUrl, TRUST_PROXY: 'loopback' };
    const started = names.map((name, index) => startInstance(name, ports[index]!, instanceEnv));
    children.push(...started.map((instance) => instance.child));
    await Promise.all(started.map((instance) => instance.running));
    const proxy = await startRoundRobinProxy({
      upstreams: ports.map((port) => `http://127.0.0.1:${port}`),
      port: config.port,
      host: config.host,
      onUpstreamDown: (upstream, reason) => console.log(`  [proxy] ${upstream} did not answer (${reason}); trying the next instance`),
    });
    for (const line of severalInstancesBanner({
      baseUrl: config.baseUrl,
      proxyUrl: proxy.url,
      instances: names.map((name, index) => ({ name, port: ports[index]! })),
      databaseUrl,
      idpOrigin: idp.origin,
      credential: describeClientCredential(config.clientCredential),
      account: idp.accounts[0]!,
    }))
      console.log(line);
    const stop = async () => {
      await proxy.close();
      await stopChildren();
      await idp.close();
      await postgres.close();
    };
    return { stop, databaseUrl };
  } catch (error) {
    await stopChildren();
    await postgres.close();
    throw error;
  }
}
