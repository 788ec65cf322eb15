import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './bench-context.ts';
import { residentBytes } from './proc.ts';
import { startApp, startBare } from './services.ts';
import type { Comparison } from './stats.ts';
import { newComparison } from './stats.ts';

/**
 * `npm start` to the first 200 (first start on an empty database, then a warm start on the same one) and the warm
 * server's idle RSS, against bare Express started with node on the views the pages phase captured.
 */
export async function measureStarts(context: BenchContext, idpOrigin: string, ports: { app: number; bare: number }): Promise<Comparison[]> {
  const { settings, progress, workDirectory } = context;
  const viewsDirectory = path.join(workDirectory, 'views');
  const warmStart = newComparison({
    key: 'warm-start',
    title: 'npm start to first 200 (warm start)',
    unit: 'ms',
    baselineName: 'bare Express (node)',
    target: { op: '<=', ratio: 3, everyRound: 4 },
  });
  const firstStart = newComparison({
    key: 'first-start',
    title: 'npm start to first 200 (first start, empty database)',
    unit: 'ms',
    baselineName: 'bare Express (node)',
  });
  const idleMemory = newComparison({
    key: 'idle-rss',
    title: 'idle RSS of the server process',
    unit: 'MB',
    baselineName: 'bare Express (node)',
    target: { op: '<=', ratio: 1.5, everyRound: 1.6 },
  });
  progress.logPhase('starts and idle memory');
  for (let round = 1; round <= settings.startRounds; round += 1) {
    const databaseFile = path.join(fs.mkdtempSync(path.join(workDirectory, `start-${round}-`)), 'app.db');
    const first = await startApp(context, idpOrigin, ports.app, databaseFile);
    await first.stop();
    const warm = await startApp(context, idpOrigin, ports.app, databaseFile);
    await sleep(settings.settleMs);
    const appMemory = residentBytes(warm.serverPid);
    await warm.stop();
    const bare = await startBare(context, ports.bare, viewsDirectory);
    await sleep(settings.settleMs);
    const bareMemory = residentBytes(bare.serverPid);
    await bare.stop();
    firstStart.ours.push(first.startMs);
    firstStart.baseline.push(bare.startMs);
    warmStart.ours.push(warm.startMs);
    warmStart.baseline.push(bare.startMs);
    idleMemory.ours.push(appMemory / 2 ** 20);
    idleMemory.baseline.push(bareMemory / 2 ** 20);
    progress.printRound(firstStart, round);
    progress.printRound(warmStart, round);
    progress.printRound(idleMemory, round);
  }
  return [warmStart, firstStart, idleMemory];
}
