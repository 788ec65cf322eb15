import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sessionCookieName } from '../src/sessions/session-middleware.ts';
import type { BenchContext } from './bench-context.ts';
import { measureLoad } from './load.ts';
import { cpuMilliseconds } from './proc.ts';
import { freePort, startService } from './processes.ts';
import { formatProfileSummary, summariseProfile } from './profile.ts';
import type { CpuProfile } from './profile.ts';
import { appEnvironment, startProvider } from './services.ts';
import { appRoutes, assertSignedIn, cpuPerSignIn, signIn } from './sign-in.ts';

/**
 * The command of `npm start` with `node --cpu-prof` in front (NODE_OPTIONS may not carry --cpu-prof):
 * its script must run `node …` or `tsx …`; a prestart script runs first, as npm would run it.
 */
function profiledStartCommand(projectRoot: string, profileDirectory: string): string[] {
  const scripts = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const [runner, ...rest] = scripts.start!.trim().split(/\s+/);
  const flags = ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`, '--cpu-prof-interval=250'];
  if (runner === 'node') return [process.execPath, ...flags, ...rest];
  if (runner === 'tsx') return [process.execPath, ...flags, '--import', 'tsx', ...rest];
  throw new Error(`npm start runs "${scripts.start}": the profile can run only a "node …" or "tsx …" start script under node --cpu-prof`);
}

/** `npm run bench -- --profile`: our server under `node --cpu-prof`, started as `npm start` starts it, during sign-ins and page loads. */
export async function runProfile(context: BenchContext): Promise<void> {
  const { projectRoot, workDirectory, settings, quick, account, progress } = context;
  const log = progress.log;
  const ports = { app: await freePort(), eoc: await freePort() };
  const idp = await startProvider(context, [ports.app], ports.eoc);
  const profileDirectory = path.join(workDirectory, 'profiles');
  const signIns = quick ? 20 : 60;
  const loadSeconds = quick ? 3 : 10;
  try {
    const command = profiledStartCommand(projectRoot, profileDirectory);
    const prestart = spawnSync('npm', ['run', 'prestart', '--if-present'], { cwd: projectRoot, stdio: 'inherit' });
    if (prestart.status !== 0) throw new Error('npm run prestart failed');
    log(`profiling: ${command.map((word) => (path.relative(projectRoot, word).startsWith('..') ? path.basename(word) : word)).join(' ')}`);
    const app = await startService({
      name: 'our app (node --cpu-prof)',
      command,
      cwd: projectRoot,
      env: appEnvironment(context, idp.origin, ports.app, path.join(workDirectory, 'profile.db')),
      port: ports.app,
      core: context.serverCore,
    });
    const nowMicroseconds = () => Number(process.hrtime.bigint() / 1000n);
    let signInWindow: { from: number; to: number };
    let pageWindow: { from: number; to: number };
    let signedOutWindow: { from: number; to: number };
    try {
      for (let index = 0; index < settings.warmUpSignIns; index += 1) await signIn(appRoutes(app.url), account);
      const signInsFrom = nowMicroseconds();
      const signInCpu = await cpuPerSignIn(app, appRoutes(app.url), account, signIns);
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
      await assertSignedIn(`${app.url}/`, cookie, account);
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
