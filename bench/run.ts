// npm run bench [-- --quick | --profile]: our app against its baselines, side by side, as ratios (see docs/BENCHMARKS.md).
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TEST_ACCOUNTS } from '../dev/idp/accounts.ts';
import { sessionCookieName } from '../src/sessions/session-middleware.ts';
import { measureLoad } from './load.ts';
import { cpuMilliseconds, residentBytes } from './proc.ts';
import { canPin, freePort, killAllServices, pinThisProcess, startService } from './processes.ts';
import type { Service } from './processes.ts';
import { formatProfileSummary, summariseProfile } from './profile.ts';
import type { CpuProfile } from './profile.ts';
import { renderChart, renderMarkdown, summaryLines } from './report.ts';
import type { Comparison } from './stats.ts';
import { formatFigure, formatRatio } from './stats.ts';
import { appRoutes, eocRoutes, signIn } from './sign-in.ts';
import type { SignInRoutes } from './sign-in.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((arg) => !['--quick', '--profile'].includes(arg));
if (unknown.length > 0) {
  console.error(`Unknown option ${unknown.join(' ')}. Use: npm run bench [-- --quick | --profile]`);
  process.exit(2);
}
const quick = args.has('--quick');
const settings = quick
  ? {
      rounds: 3,
      signInsPerRound: 6,
      loadSeconds: 1,
      connections: 10,
      startRounds: 3,
      settleMs: 500,
      warmUpSignIns: 2,
      warmUpLoadSeconds: 1,
    }
  : {
      rounds: 5,
      signInsPerRound: 20,
      loadSeconds: 4,
      connections: 10,
      startRounds: 5,
      settleMs: 1500,
      warmUpSignIns: 5,
      warmUpLoadSeconds: 2,
    };
const account = TEST_ACCOUNTS[0]!;

// Servers on the last core, the load generator (this process) and the provider on the first: they never share a core.
const cores = os.cpus().length;
const serverCore = canPin && cores >= 2 ? cores - 1 : undefined;
const clientCore = serverCore === undefined ? undefined : 0;
if (clientCore !== undefined) pinThisProcess(clientCore);

const workDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-bench-'));
const appClient = { clientId: crypto.randomUUID(), clientSecret: crypto.randomBytes(24).toString('base64url') };
const eocClient = { clientId: crypto.randomUUID(), clientSecret: crypto.randomBytes(24).toString('base64url') };
const sessionSecret = crypto.randomBytes(32).toString('base64url');
const tokenEncryptionKey = crypto.randomBytes(32).toString('base64');

/** The environment of the bench's children: ours, without the settings of the shell that runs the bench. */
function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
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
 * What a user fills in for `npm start`, pointing at the local provider. The optional settings and NODE_ENV are
 * empty, which the app reads as unset, so a developer's .env cannot change them (dotenv never overrides).
 */
function appEnvironment(idpOrigin: string, port: number, databaseFile: string): NodeJS.ProcessEnv {
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
    O365_APP_ID: appClient.clientId,
    O365_APP_KEY: appClient.clientSecret,
    O365_TENANT: 'common',
    O365_AUTHORITY_HOST: idpOrigin,
    GRAPH_BASE_URL: idpOrigin,
    BASE_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `file:${databaseFile}`,
    SESSION_SECRET: sessionSecret,
    TOKEN_ENCRYPTION_KEY: tokenEncryptionKey,
    SIGN_IN_RATE_LIMIT: '1000000',
  });
}

function startApp(idpOrigin: string, port: number, databaseFile: string): Promise<Service> {
  return startService({
    name: 'our app (npm start)',
    command: ['npm', 'start'],
    cwd: projectRoot,
    env: appEnvironment(idpOrigin, port, databaseFile),
    port,
    core: serverCore,
  });
}

function startBare(port: number, viewsDirectory: string): Promise<Service> {
  return startService({
    name: 'bare Express',
    command: [process.execPath, path.join(projectRoot, 'bench', 'baselines', 'bare-express.mjs')],
    cwd: projectRoot,
    env: childEnvironment({ PORT: String(port), BENCH_VIEWS: viewsDirectory }),
    port,
    core: serverCore,
  });
}

function startEoc(idp: { origin: string; tenantId: string }, port: number): Promise<Service> {
  return startService({
    name: 'express-openid-connect app',
    command: [process.execPath, '--import', 'tsx', path.join(projectRoot, 'bench', 'baselines', 'eoc-app.ts')],
    cwd: projectRoot,
    env: childEnvironment({
      // A concrete tenant: its discovery issuer is the tenant's, not the {tenantid} template of `common`.
      EOC_ISSUER: `${idp.origin}/${idp.tenantId}/v2.0`,
      BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      EOC_CLIENT_ID: eocClient.clientId,
      EOC_CLIENT_SECRET: eocClient.clientSecret,
      EOC_SECRET: crypto.randomBytes(32).toString('base64url'),
    }),
    port,
    core: serverCore,
  });
}

const providerStops = new Set<() => void>();

/** The local provider in its own process (its CPU is never the app's), with both relying parties registered. */
async function startProvider(appPorts: number[], eocPort: number): Promise<{ origin: string; tenantId: string; stop(): void }> {
  const clients = [
    { ...appClient, redirectUris: appPorts.map((port) => `http://127.0.0.1:${port}/connect/get_token`) },
    { ...eocClient, redirectUris: [`http://127.0.0.1:${eocPort}/callback`] },
  ];
  const command = [process.execPath, '--import', 'tsx', path.join(projectRoot, 'bench', 'idp-process.ts')];
  const [file, ...rest] = clientCore === undefined ? command : ['taskset', '-c', String(clientCore), ...command];
  const child = spawn(file!, rest, {
    cwd: projectRoot,
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
  providerStops.add(stop);
  return { ...started, stop };
}

const began = performance.now();

function log(line: string): void {
  console.log(line);
}

function logPhase(name: string): void {
  log(`== ${name} (at ${((performance.now() - began) / 1000).toFixed(0)} s)`);
}

async function cpuPerSignIn(service: Service, routes: SignInRoutes, count: number): Promise<number> {
  const before = cpuMilliseconds(service.serverPid);
  for (let index = 0; index < count; index += 1) await signIn(routes, account);
  return (cpuMilliseconds(service.serverPid) - before) / count;
}

/** Escapes EJS's delimiter so the captured page is served byte for byte. */
function asTemplate(html: string): string {
  return html.replace(/<%/g, '<%%');
}

async function assertSignedIn(url: string, cookie: string): Promise<void> {
  const body = await (await fetch(url, { headers: { cookie } })).text();
  if (!body.includes(account.displayName)) throw new Error(`the session cookie no longer signs in at ${url}`);
}

async function measurePagesAndSignIns(
  idp: { origin: string; tenantId: string },
  ports: { app: number; eoc: number; bare: number },
): Promise<Comparison[]> {
  const [app, eoc] = await Promise.all([startApp(idp.origin, ports.app, path.join(workDirectory, 'app.db')), startEoc(idp, ports.eoc)]);
  const services: Service[] = [app, eoc];
  try {
    const viewsDirectory = path.join(workDirectory, 'views');
    fs.mkdirSync(viewsDirectory);
    const signedOutHtml = await (await fetch(`${app.url}/`)).text();
    const session = await signIn(appRoutes(app.url), account);
    const cookieName = sessionCookieName({ baseUrl: app.url });
    const cookie = `${cookieName}=${session.browser.cookie(cookieName)}`;
    const signedInHtml = await (await fetch(`${app.url}/`, { headers: { cookie } })).text();
    fs.writeFileSync(path.join(viewsDirectory, 'signed-out.ejs'), asTemplate(signedOutHtml));
    fs.writeFileSync(path.join(viewsDirectory, 'signed-in.ejs'), asTemplate(signedInHtml));
    const bare = await startBare(ports.bare, viewsDirectory);
    services.push(bare);
    const bareSignedOut = await (await fetch(`${bare.url}/`)).text();
    if (bareSignedOut !== signedOutHtml) throw new Error('the bare app does not serve the same bytes as our signed-out page');
    log(
      `pages: signed out ${signedOutHtml.length} bytes, signed in ${signedInHtml.length} bytes; servers: app pid ${app.serverPid}, ` +
        `express-openid-connect pid ${eoc.serverPid}, bare pid ${bare.serverPid}`,
    );

    logPhase('warming up');
    for (let index = 0; index < settings.warmUpSignIns; index += 1) {
      await signIn(appRoutes(app.url), account);
      await signIn(eocRoutes(eoc.url), account);
    }
    const warmUp = { seconds: settings.warmUpLoadSeconds, connections: settings.connections };
    await measureLoad(`${app.url}/`, warmUp);
    await measureLoad(`${bare.url}/`, warmUp);
    await measureLoad(`${app.url}/`, { ...warmUp, cookie });
    await measureLoad(`${bare.url}/signed-in`, warmUp);

    logPhase('CPU per sign-in');
    const signInCpu: Comparison = {
      key: 'sign-in-cpu',
      title: 'app CPU per complete sign-in',
      unit: 'ms',
      baselineName: 'express-openid-connect',
      target: { op: '<=', ratio: 1.0 },
      ours: [],
      baseline: [],
    };
    for (let round = 1; round <= settings.rounds; round += 1) {
      signInCpu.ours.push(await cpuPerSignIn(app, appRoutes(app.url), settings.signInsPerRound));
      signInCpu.baseline.push(await cpuPerSignIn(eoc, eocRoutes(eoc.url), settings.signInsPerRound));
      printRound(signInCpu, round);
    }

    logPhase('signed-out page under load');
    const [signedOutRps, signedOutP99] = await comparePageLoad(
      'signed-out',
      { ours: `${app.url}/`, bare: `${bare.url}/` },
      { rps: 0.6, p99: 2 },
    );
    logPhase('signed-in page under load');
    const [signedInRps, signedInP99] = await comparePageLoad(
      'signed-in',
      { ours: `${app.url}/`, bare: `${bare.url}/signed-in`, cookie },
      { rps: 0.25 },
    );
    return [signInCpu, signedOutRps, signedOutP99, signedInRps, signedInP99];
  } finally {
    await Promise.all(services.map((service) => service.stop()));
  }
}

/** req/s and p99 of one page, ours and the bare app's, round by round; a cookie is checked to still sign in before each round. */
async function comparePageLoad(
  page: string,
  urls: { ours: string; bare: string; cookie?: string },
  targets: { rps: number; p99?: number },
): Promise<[Comparison, Comparison]> {
  const baselineName = 'bare Express + EJS';
  const rps: Comparison = {
    key: `${page}-rps`,
    title: `${page} page, req/s`,
    unit: 'req/s',
    baselineName,
    target: { op: '>=', ratio: targets.rps },
    ours: [],
    baseline: [],
  };
  const p99: Comparison = {
    key: `${page}-p99`,
    title: `${page} page, p99 latency`,
    unit: 'ms',
    baselineName,
    target: targets.p99 === undefined ? undefined : { op: '<=', ratio: targets.p99 },
    ours: [],
    baseline: [],
  };
  const load = { seconds: settings.loadSeconds, connections: settings.connections };
  for (let round = 1; round <= settings.rounds; round += 1) {
    if (urls.cookie !== undefined) await assertSignedIn(urls.ours, urls.cookie);
    const ours = await measureLoad(urls.ours, { ...load, cookie: urls.cookie });
    const bare = await measureLoad(urls.bare, load);
    rps.ours.push(ours.requestsPerSecond);
    rps.baseline.push(bare.requestsPerSecond);
    p99.ours.push(ours.p99Ms);
    p99.baseline.push(bare.p99Ms);
    printRound(rps, round);
    printRound(p99, round);
  }
  if (urls.cookie !== undefined) await assertSignedIn(urls.ours, urls.cookie);
  return [rps, p99];
}

async function measureStarts(idpOrigin: string, ports: { app: number; bare: number }): Promise<Comparison[]> {
  const viewsDirectory = path.join(workDirectory, 'views');
  const warmStart: Comparison = {
    key: 'warm-start',
    title: 'npm start to first 200 (warm start)',
    unit: 'ms',
    baselineName: 'bare Express (node)',
    target: { op: '<=', ratio: 4 },
    ours: [],
    baseline: [],
  };
  const firstStart: Comparison = {
    key: 'first-start',
    title: 'npm start to first 200 (first start, empty database)',
    unit: 'ms',
    baselineName: 'bare Express (node)',
    ours: [],
    baseline: [],
  };
  const idleMemory: Comparison = {
    key: 'idle-rss',
    title: 'idle RSS of the server process',
    unit: 'MB',
    baselineName: 'bare Express (node)',
    target: { op: '<=', ratio: 1.6 },
    ours: [],
    baseline: [],
  };
  logPhase('starts and idle memory');
  for (let round = 1; round <= settings.startRounds; round += 1) {
    const databaseFile = path.join(fs.mkdtempSync(path.join(workDirectory, `start-${round}-`)), 'app.db');
    const first = await startApp(idpOrigin, ports.app, databaseFile);
    await first.stop();
    const warm = await startApp(idpOrigin, ports.app, databaseFile);
    await sleep(settings.settleMs);
    const appMemory = residentBytes(warm.serverPid);
    await warm.stop();
    const bare = await startBare(ports.bare, viewsDirectory);
    await sleep(settings.settleMs);
    const bareMemory = residentBytes(bare.serverPid);
    await bare.stop();
    firstStart.ours.push(first.startMs);
    firstStart.baseline.push(bare.startMs);
    warmStart.ours.push(warm.startMs);
    warmStart.baseline.push(bare.startMs);
    idleMemory.ours.push(appMemory / 2 ** 20);
    idleMemory.baseline.push(bareMemory / 2 ** 20);
    printRound(firstStart, round);
    printRound(warmStart, round);
    printRound(idleMemory, round);
  }
  return [warmStart, firstStart, idleMemory];
}

function printRound(comparison: Comparison, round: number): void {
  const index = round - 1;
  const ours = comparison.ours[index]!;
  const baseline = comparison.baseline[index]!;
  log(
    `[${comparison.key}] round ${round}: app ${formatFigure(ours, comparison.unit)}, ${comparison.baselineName} ${formatFigure(baseline, comparison.unit)} → ${formatRatio(ours / baseline)}`,
  );
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
}

async function runBenchmark(): Promise<void> {
  const startLoad = loadAverage();
  const ports = {
    app: await freePort(),
    eoc: await freePort(),
    bare: await freePort(),
    startApp: await freePort(),
    startBare: await freePort(),
  };
  const idp = await startProvider([ports.app, ports.startApp], ports.eoc);
  try {
    log(
      `npm run bench (${quick ? 'quick' : 'full'}): ${settings.rounds} rounds, ${settings.signInsPerRound} sign-ins a round, ${settings.loadSeconds} s of load a round, ` +
        `${settings.startRounds} start rounds; ${serverCore === undefined ? 'no pinning' : `servers on core ${serverCore}, load generator and provider on core ${clientCore}`}`,
    );
    const pages = await measurePagesAndSignIns(idp, ports);
    const starts = await measureStarts(idp.origin, { app: ports.startApp, bare: ports.startBare });
    const comparisons = [...pages, ...starts];
    const durationSeconds = Math.round((performance.now() - began) / 1000);
    log('');
    for (const line of summaryLines(comparisons)) log(line);
    const cpuModel = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
    const description = {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: quick ? 'quick' : 'full',
      cpuModel,
      cores,
      nodeVersion: process.version,
      os: `${os.type()} ${os.release()}`,
      pinning:
        serverCore === undefined
          ? 'none (taskset unavailable or a single core)'
          : `servers under test on core ${serverCore}, the load generator (autocannon in the bench process) and the provider on core ${clientCore}, with taskset`,
      loadAverage: { start: startLoad, end: loadAverage() },
      durationSeconds,
      settings: `${settings.rounds} rounds of ${settings.signInsPerRound} sign-ins and of ${settings.loadSeconds} s of load (${settings.connections} connections) per side, ${settings.startRounds} start rounds, ${settings.settleMs} ms settle before reading memory`,
    } as const;
    fs.writeFileSync(path.join(projectRoot, 'docs', 'BENCHMARKS.md'), renderMarkdown(description, comparisons));
    fs.writeFileSync(
      path.join(projectRoot, 'docs', 'benchmarks.svg'),
      renderChart(
        comparisons,
        `npm run bench${quick ? ' -- --quick' : ''}, ${description.date}, ${cpuModel} (${cores} cores), Node.js ${process.version}`,
      ),
    );
    log(`\nwrote docs/BENCHMARKS.md and docs/benchmarks.svg (${durationSeconds} s)`);
  } finally {
    idp.stop();
  }
}

/**
 * The command of `npm start` with `node --cpu-prof` in front (NODE_OPTIONS may not carry --cpu-prof):
 * its script must run `node …` or `tsx …`; a prestart script runs first, as npm would run it.
 */
function profiledStartCommand(profileDirectory: string): string[] {
  const scripts = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const [runner, ...rest] = scripts.start!.trim().split(/\s+/);
  const flags = ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`, '--cpu-prof-interval=250'];
  if (runner === 'node') return [process.execPath, ...flags, ...rest];
  if (runner === 'tsx') return [process.execPath, ...flags, '--import', 'tsx', ...rest];
  throw new Error(`npm start runs "${scripts.start}": the profile can run only a "node …" or "tsx …" start script under node --cpu-prof`);
}

/** Our server under `node --cpu-prof`, started as `npm start` starts it, during sign-ins and signed-in page loads. */
async function runProfile(): Promise<void> {
  const ports = { app: await freePort(), eoc: await freePort() };
  const idp = await startProvider([ports.app], ports.eoc);
  const profileDirectory = path.join(workDirectory, 'profiles');
  const signIns = quick ? 20 : 60;
  const loadSeconds = quick ? 3 : 10;
  try {
    const command = profiledStartCommand(profileDirectory);
    const prestart = spawnSync('npm', ['run', 'prestart', '--if-present'], { cwd: projectRoot, stdio: 'inherit' });
    if (prestart.status !== 0) throw new Error('npm run prestart failed');
    log(`profiling: ${command.map((word) => (path.relative(projectRoot, word).startsWith('..') ? path.basename(word) : word)).join(' ')}`);
    const app = await startService({
      name: 'our app (node --cpu-prof)',
      command,
      cwd: projectRoot,
      env: appEnvironment(idp.origin, ports.app, path.join(workDirectory, 'profile.db')),
      port: ports.app,
      core: serverCore,
    });
    const nowMicroseconds = () => Number(process.hrtime.bigint() / 1000n);
    let signInWindow: { from: number; to: number };
    let pageWindow: { from: number; to: number };
    let signedOutWindow: { from: number; to: number };
    try {
      for (let index = 0; index < settings.warmUpSignIns; index += 1) await signIn(appRoutes(app.url), account);
      const signInsFrom = nowMicroseconds();
      const signInCpu = await cpuPerSignIn(app, appRoutes(app.url), signIns);
      signInWindow = { from: signInsFrom, to: nowMicroseconds() };
      log(`sign-ins under the profiler: ${signInCpu.toFixed(1)} ms of CPU each (from /proc)`);
      const session = await signIn(appRoutes(app.url), account);
      const cookieName = sessionCookieName({ baseUrl: app.url });
      const cookie = `${cookieName}=${session.browser.cookie(cookieName)}`;
      await measureLoad(`${app.url}/`, { seconds: 1, connections: settings.connections, cookie });
      const pagesFrom = nowMicroseconds();
      const cpuBefore = cpuMilliseconds(app.serverPid);
      const load = await measureLoad(`${app.url}/`, { seconds: loadSeconds, connections: settings.connections, cookie });
      const pageCpu = cpuMilliseconds(app.serverPid) - cpuBefore;
      pageWindow = { from: pagesFrom, to: nowMicroseconds() };
      await assertSignedIn(`${app.url}/`, cookie);
      log(
        `signed-in / under the profiler: ${load.requestsPerSecond.toFixed(0)} req/s, ${pageCpu.toFixed(0)} ms of CPU in ${loadSeconds} s (from /proc)`,
      );
      const signedOutFrom = nowMicroseconds();
      const signedOutCpuBefore = cpuMilliseconds(app.serverPid);
      const signedOut = await measureLoad(`${app.url}/`, { seconds: loadSeconds, connections: settings.connections });
      const signedOutCpu = cpuMilliseconds(app.serverPid) - signedOutCpuBefore;
      signedOutWindow = { from: signedOutFrom, to: nowMicroseconds() };
      log(
        `signed-out / under the profiler: ${signedOut.requestsPerSecond.toFixed(0)} req/s, ${signedOutCpu.toFixed(0)} ms of CPU in ${loadSeconds} s (from /proc)`,
      );
      await sleep(100);
    } finally {
      await app.stop();
    }
    const file = fs.readdirSync(profileDirectory).find((name) => name.includes(`.${app.serverPid}.`));
    if (file === undefined) throw new Error(`no CPU profile of process ${app.serverPid} in ${profileDirectory}`);
    const profile = JSON.parse(fs.readFileSync(path.join(profileDirectory, file), 'utf8')) as CpuProfile;
    if (signInWindow.from < profile.startTime || signedOutWindow.to > profile.endTime)
      throw new Error('the measured windows fall outside the profile: the clocks differ');
    log(
      formatProfileSummary(`${signIns} sign-ins (/connect + callback + page)`, summariseProfile(profile, signInWindow, projectRoot), {
        count: signIns,
        name: 'sign-in',
      }),
    );
    log(formatProfileSummary(`signed-in / for ${loadSeconds} s`, summariseProfile(profile, pageWindow, projectRoot)));
    log(formatProfileSummary(`signed-out / for ${loadSeconds} s`, summariseProfile(profile, signedOutWindow, projectRoot)));
  } finally {
    idp.stop();
  }
}

const stopEverything = () => {
  killAllServices();
  for (const stop of providerStops) stop();
  process.exit(130);
};
process.once('SIGINT', stopEverything);
process.once('SIGTERM', stopEverything);
try {
  await (args.has('--profile') ? runProfile() : runBenchmark());
} catch (error) {
  killAllServices();
  for (const stop of providerStops) stop();
  console.error(`npm run bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(workDirectory, { recursive: true, force: true });
}
