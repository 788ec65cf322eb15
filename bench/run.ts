// npm run bench [-- --quick | --profile]: our app against its baselines, side by side, as ratios (see docs/BENCHMARKS.md).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeBenchContext, createBenchContext, stopEverything } from './bench-context.ts';
import type { BenchContext } from './bench-context.ts';
import { measureCachedToken } from './cached-token.ts';
import { parseBenchOptions } from './options.ts';
import { measurePagesAndSignIns } from './pages.ts';
import { freePort } from './processes.ts';
import { runProfile } from './profile-run.ts';
import { createProgress } from './progress.ts';
import { renderChart, renderMarkdown, summaryLines } from './report.ts';
import { startProvider } from './services.ts';
import { build, isBuildStale } from '../scripts/build.mjs';
import { measureStarts } from './starts.ts';

function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
}

/** Every measurement, side by side with its baseline; writes docs/BENCHMARKS.md and docs/benchmarks.svg. */
async function runBenchmark(context: BenchContext): Promise<void> {
  const { settings, quick, progress, projectRoot, serverCore, clientCore, cores } = context;
  const log = progress.log;
  const startLoad = loadAverage();
  const ports = {
    app: await freePort(),
    eoc: await freePort(),
    bare: await freePort(),
    startApp: await freePort(),
    startBare: await freePort(),
  };
  const idp = await startProvider(context, [ports.app, ports.startApp], ports.eoc);
  try {
    log(
      `npm run bench (${quick ? 'quick' : 'full'}): ${settings.rounds} rounds, ${settings.signInsPerRound} sign-ins a round, ${settings.loadSeconds} s of load a round, ` +
        `${settings.startRounds} start rounds; ${serverCore === undefined ? 'no pinning' : `servers on core ${serverCore}, load generator and provider on core ${clientCore}`}`,
    );
    const pages = await measurePagesAndSignIns(context, idp, ports);
    const starts = await measureStarts(context, idp.origin, { app: ports.startApp, bare: ports.startBare });
    const cachedToken = await measureCachedToken(context, idp.origin, ports.startApp);
    const comparisons = [...pages, ...starts, ...cachedToken];
    const durationSeconds = Math.round(progress.elapsedMs() / 1000);
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
          : `servers under test and the commands timed on core ${serverCore}, the load generator (autocannon in the bench process) and the provider on core ${clientCore}, with taskset`,
      loadAverage: { start: startLoad, end: loadAverage() },
      durationSeconds,
      settings:
        `${settings.rounds} rounds of ${settings.signInsPerRound} sign-ins and of ${settings.loadSeconds} s of load (${settings.connections} connections) per side, ` +
        `${settings.startRounds} start rounds, ${settings.settleMs} ms settle before reading memory, ${settings.commandRunsPerRound} runs of each command per round`,
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

const parsed = parseBenchOptions(process.argv.slice(2));
if (!parsed.ok) {
  console.error(parsed.message);
  process.exit(2);
}
const context = createBenchContext(parsed.options, createProgress());
const interrupt = () => {
  stopEverything(context);
  process.exit(130);
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);
try {
  // `npm start` and `npm run token` run dist/ and never compile it: measure the sources as they are, not an older build.
  if (isBuildStale()) {
    context.progress.log('Compiling src/ to dist/ first (npm run build): it is older than the sources');
    build();
  }
  await (context.profile ? runProfile(context) : runBenchmark(context));
} catch (error) {
  stopEverything(context);
  console.error(`npm run bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  closeBenchContext(context);
}
