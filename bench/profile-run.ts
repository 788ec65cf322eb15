import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sessionCookieName } from '../src/sessions/session-middleware.ts';
import type { BenchContext } from './bench-context.ts';
import { measureLoad } from './load.ts';
import { cpuMilliseconds, threadCpuMilliseconds } from './proc.ts';
import { freePort, startService } from './processes.ts';
import { SIGN_IN_CPU_TARGET } from './pages.ts';
import { formatProfileSummary, summariseProfile } from './profile.ts';
import type { CpuProfile, ProfileSummary } from './profile.ts';
import { appEnvironment, startEoc, startProvider } from './services.ts';
import { appRoutes, assertSignedIn, eocRoutes, eocSessionCookie, signIn } from './sign-in.ts';

/** node's flags for a CPU profile of the main thread into `directory`, sampled every 250 µs. */
function cpuProfileFlags(directory: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${directory}`, '--cpu-prof-interval=250'];
}

/**
 * The command of `npm start` with `node --cpu-prof` in front (NODE_OPTIONS may not carry --cpu-prof):
 * its script must run `node …` or `tsx …`; a prestart script runs first, as npm would run it.
 */
function profiledStartCommand(projectRoot: string, profileDirectory: string): string[] {
  const scripts = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const [runner, ...rest] = scripts.start!.trim().split(/\s+/);
  const flags = cpuProfileFlags(profileDirectory);
  if (runner === 'node') return [process.execPath, ...flags, ...rest];
  if (runner === 'tsx') return [process.execPath, ...flags, '--import', 'tsx', ...rest];
  throw new Error(`npm start runs "${scripts.start}": the profile can run only a "node …" or "tsx …" start script under node --cpu-prof`);
}

/** The main thread's profile of process `pid` in `directory` (node --cpu-prof names it CPU.<date>.<time>.<pid>.<thread>.<n>). */
function readMainThreadProfile(directory: string, pid: number): CpuProfile {
  const file = fs.readdirSync(directory).find((name) => name.includes(`.${pid}.0.`));
  if (file === undefined) throw new Error(`no CPU profile of process ${pid} in ${directory}`);
  return JSON.parse(fs.readFileSync(path.join(directory, file), 'utf8')) as CpuProfile;
}

/**
 * What the profiles of both sides say about CPU per sign-in with this stack: our main thread's time less our own
 * JavaScript and all garbage collection is what would remain if our own code cost nothing, against
 * express-openid-connect's whole main thread over the same sign-ins.
 */
export function formatSignInFloor(ours: ProfileSummary, theirs: ProfileSummary, signIns: number, target: number): string {
  const per = (ms: number) => `${(ms / signIns).toFixed(2)} ms`;
  const floorMs = ours.busyMs - ours.ownCodeMs - ours.garbageCollectorMs;
  return [
    `== the floor of CPU per sign-in with this stack (main threads, the same ${signIns} sign-ins in turn, under the profiler)`,
    `   our app: ${per(ours.busyMs)} a sign-in, of which our own JavaScript ${per(ours.ownCodeMs)} and garbage collection ${per(ours.garbageCollectorMs)}`,
    `   the rest (Node.js, Express, express-session, SQLite and Prisma's adapter, jose, simple-oauth2, pino, EJS): ${per(floorMs)}`,
    `   express-openid-connect: ${per(theirs.busyMs)} a sign-in`,
    `   with our own code and every collection free: ${(floorMs / theirs.busyMs).toFixed(2)}× express-openid-connect (target ≤ ${target}×);` +
      ` as measured: ${(ours.busyMs / theirs.busyMs).toFixed(2)}×`,
  ].join('\n');
}

/**
 * `npm run bench -- --profile`: our server under `node --cpu-prof`, started as `npm start` starts it, during sign-ins
 * (in turn with express-openid-connect's, itself under the profiler, both warmed up alike) and page loads.
 */
export async function runProfile(context: BenchContext): Promise<void> {
  const { projectRoot, workDirectory, settings, quick, account, progress } = context;
  const log = progress.log;
  const ports = { app: await freePort(), eoc: await freePort() };
  const idp = await startProvider(context, [ports.app], ports.eoc);
  const profileDirectory = path.join(workDirectory, 'profiles');
  const eocProfileDirectory = path.join(workDirectory, 'eoc-profiles');
  const signIns = quick ? 20 : 60;
  const loadSeconds = quick ? 3 : 10;
  try {
    const command = profiledStartCommand(projectRoot, profileDirectory);
    const prestart = spawnSync('npm', ['run', 'prestart', '--if-present'], { cwd: projectRoot, stdio: 'inherit' });
    if (prestart.status !== 0) throw new Error('npm run prestart failed');
    log(`profiling: ${command.map((word) => (path.relative(projectRoot, word).startsWith('..') ? path.basename(word) : word)).join(' ')}`);
    const [app, eoc] = await Promise.all([
      startService({
        name: 'our app (node --cpu-prof)',
        command,
        cwd: projectRoot,
        env: appEnvironment(context, idp.origin, ports.app, path.join(workDirectory, 'profile.db')),
        port: ports.app,
        core: context.serverCore,
      }),
      startEoc(context, idp, ports.eoc, cpuProfileFlags(eocProfileDirectory)),
    ]);
    const nowMicroseconds = () => Number(process.hrtime.bigint() / 1000n);
    let signInWindow: { from: number; to: number };
    let pageWindow: { from: number; to: number };
    let signedOutWindow: { from: number; to: number };
    try {
      const session = await signIn(appRoutes(app.url), account);
      const cookieName = sessionCookieName({ baseUrl: app.url });
      const cookie = `${cookieName}=${session.browser.cookie(cookieName)}`;
      const eocCookie = eocSessionCookie((await signIn(eocRoutes(eoc.url), account)).browser);
      await assertSignedIn(`${eoc.url}/`, eocCookie, account);
      // The bench's warm-up, on both sides alike: sign-ins, then load on the signed-out and signed-in pages.
      for (let index = 0; index < settings.warmUpSignIns; index += 1) {
        await signIn(appRoutes(app.url), account);
        await signIn(eocRoutes(eoc.url), account);
      }
      const warmUp = { seconds: settings.warmUpLoadSeconds, connections: settings.connections };
      for (const [url, pageCookie] of [
        [app.url, cookie],
        [eoc.url, eocCookie],
      ] as const) {
        await measureLoad(`${url}/`, warmUp);
        await measureLoad(`${url}/`, { ...warmUp, cookie: pageCookie });
      }
      const signInsFrom = nowMicroseconds();
      const sides = [
        { service: app, routes: appRoutes(app.url), main: 0, others: 0 },
        { service: eoc, routes: eocRoutes(eoc.url), main: 0, others: 0 },
      ];
      for (let index = 0; index < signIns; index += 1) {
        for (const side of sides) {
          const before = threadCpuMilliseconds(side.service.serverPid);
          await signIn(side.routes, account);
          const after = threadCpuMilliseconds(side.service.serverPid);
          side.main += after.main - before.main;
          side.others += after.others - before.others;
        }
      }
      signInWindow = { from: signInsFrom, to: nowMicroseconds() };
      const [ourThreads, eocThreads] = sides.map(
        (side) => `main thread ${(side.main / signIns).toFixed(2)} ms, other threads ${(side.others / signIns).toFixed(2)} ms`,
      );
      log(
        `sign-ins under the profiler, in turn, CPU each (from /proc, the profiler's own thread left out): ours ${ourThreads}; express-openid-connect's ${eocThreads}`,
      );
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
      await Promise.all([app.stop(), eoc.stop()]);
    }
    const profile = readMainThreadProfile(profileDirectory, app.serverPid);
    const eocProfile = readMainThreadProfile(eocProfileDirectory, eoc.serverPid);
    if (signInWindow.from < profile.startTime || signedOutWindow.to > profile.endTime || signInWindow.to > eocProfile.endTime)
      throw new Error('the measured windows fall outside the profiles: the clocks differ');
    const perSignIn = { count: signIns, name: 'sign-in' };
    const ours = summariseProfile(profile, signInWindow, projectRoot);
    const theirs = summariseProfile(eocProfile, signInWindow, projectRoot);
    log(formatProfileSummary(`${signIns} sign-ins (/connect + callback + page)`, ours, perSignIn));
    log(formatProfileSummary(`express-openid-connect, the same ${signIns} sign-ins in turn (/login + callback + page)`, theirs, perSignIn));
    log(formatSignInFloor(ours, theirs, signIns, SIGN_IN_CPU_TARGET));
    log(formatProfileSummary(`signed-in / for ${loadSeconds} s`, summariseProfile(profile, pageWindow, projectRoot)));
    log(formatProfileSummary(`signed-out / for ${loadSeconds} s`, summariseProfile(profile, signedOutWindow, projectRoot)));
  } finally {
    idp.stop();
  }
}
