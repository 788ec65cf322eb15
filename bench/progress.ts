import { performance } from 'node:perf_hooks';
import type { Comparison } from './stats.ts';
import { formatFigure, formatRatio } from './stats.ts';

/** The bench's running commentary on stdout: phases with their time since the start, and every round as it ends. */
export interface Progress {
  /** Milliseconds since the bench began. */
  elapsedMs(): number;
  log(line: string): void;
  logPhase(name: string): void;
  printRound(comparison: Comparison, round: number): void;
}

/** A commentary whose clock starts now. */
export function createProgress(): Progress {
  const began = performance.now();
  const log = (line: string) => console.log(line);
  return {
    elapsedMs: () => performance.now() - began,
    log,
    logPhase(name) {
      log(`== ${name} (at ${((performance.now() - began) / 1000).toFixed(0)} s)`);
    },
    printRound(comparison, round) {
      const index = round - 1;
      const ours = comparison.ours[index]!;
      const baseline = comparison.baseline[index]!;
      log(
        `[${comparison.key}] round ${round}: app ${formatFigure(ours, comparison.unit)}, ${comparison.baselineName} ${formatFigure(baseline, comparison.unit)} → ${formatRatio(ours / baseline)}`,
      );
    },
  };
}
