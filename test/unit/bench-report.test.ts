import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bundledSource } from '../../bench/bundled-sources.ts';
import { summariseProfile } from '../../bench/profile.ts';
import type { CpuProfile, ProfileSummary } from '../../bench/profile.ts';
import { formatSignInFloor } from '../../bench/profile-run.ts';
import { renderChart } from '../../bench/report.ts';
import type { Comparison } from '../../bench/stats.ts';
import { meetsTarget, median, ratioOf } from '../../bench/stats.ts';

const comparison = (ours: number[], baseline: number[], target?: Comparison['target']): Comparison => ({
  key: 'k',
  title: 'a figure',
  unit: 'ms',
  baselineName: 'base',
  target,
  ours,
  baseline,
});

describe('the benchmark report', () => {
  it('when rounds are measured side by side, then the ratio is the median of the per-round ratios', () => {
    // Per-round ratios 2, 4 and 10: their median is 4, while the ratio of the medians would be 30 / 10 = 3.
    const figure = comparison([20, 40, 30], [10, 10, 3]);
    assert.equal(ratioOf(figure), 4);
    assert.equal(median([3, 1, 2, 10]), 2.5);
  });

  it('when a figure has a target, then a cost passes at or below it and a throughput at or above it', () => {
    assert.equal(meetsTarget(comparison([10], [10], { op: '<=', ratio: 1 })), true);
    assert.equal(meetsTarget(comparison([11], [10], { op: '<=', ratio: 1 })), false);
    assert.equal(meetsTarget(comparison([6], [10], { op: '>=', ratio: 0.6 })), true);
    assert.equal(meetsTarget(comparison([5], [10], { op: '>=', ratio: 0.6 })), false);
    assert.equal(meetsTarget(comparison([5], [10])), undefined);
  });

  it('when a target names a figure for every round, then one round worse than it fails the figure even with a passing median', () => {
    // Per-round ratios 0.7, 0.7 and 1.2: the median 0.7 meets ≤ 0.8, the last round misses ≤ 1.
    const figure = comparison([7, 7, 12], [10, 10, 10], { op: '<=', ratio: 0.8, everyRound: 1 });
    assert.equal(meetsTarget(figure), false);
    assert.equal(meetsTarget({ ...figure, ours: [7, 7, 9] }), true);
    assert.equal(meetsTarget(comparison([8, 5], [10, 10], { op: '>=', ratio: 0.7, everyRound: 0.6 })), false);
  });

  it('when the chart is drawn, then each figure with a target gets one bar, green when it passes and red when not', () => {
    const svg = renderChart(
      [comparison([5], [10], { op: '<=', ratio: 1 }), comparison([50], [10], { op: '<=', ratio: 4 }), comparison([1], [1])],
      'a <caption>',
    );
    assert.equal(svg.match(/fill="#2e7d32"/g)?.length, 1);
    assert.equal(svg.match(/fill="#c62828"/g)?.length, 1);
    assert.match(svg, /a &lt;caption&gt;/);
  });
});

describe('the CPU profile summary', () => {
  // root → handler (src/app.ts) → query (node_modules/pkg); idle beside them. Samples every 1000 µs from t = 1000.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: 'handler', url: 'file:///project/src/app.ts', lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: 'query', url: 'file:///project/node_modules/pkg/index.js', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    ],
    startTime: 0,
    endTime: 7000,
    samples: [2, 3, 3, 4, 3, 2, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('when a window is given, then only its samples count, idle left out, self and inclusive time per function and area', () => {
    // Samples at t = 1000 … 7000; the window keeps t = 2000 … 6000: query, query, idle, query, handler.
    const summary = summariseProfile(profile, { from: 2000, to: 6000 }, '/project');
    assert.equal(summary.busyMs, 4);
    assert.deepEqual(summary.self, [
      { name: 'query node_modules/pkg/index.js:1', ms: 3 },
      { name: 'handler src/app.ts:10', ms: 1 },
    ]);
    assert.deepEqual(summary.inclusive, [
      { name: 'handler src/app.ts:10', ms: 4 },
      { name: 'query node_modules/pkg/index.js:1', ms: 3 },
    ]);
    assert.deepEqual(summary.byArea, [
      { name: 'pkg', ms: 3 },
      { name: 'src/ (our code)', ms: 1 },
    ]);
    assert.deepEqual(summary.ours, [{ name: 'handler src/app.ts:10', ms: 4 }]);
    assert.equal(summary.ownCodeMs, 1);
    assert.equal(summary.garbageCollectorMs, 0);
  });

  it("when our code calls the SQLite driver or the garbage collector runs, then that time is not our own code's", () => {
    // root → statement (src/db/sqlite-statements.ts `allRows`, the driver's native work) and the collector; handler.
    const withDriver: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4, 5] },
        { id: 2, callFrame: { functionName: 'handler', url: 'file:///project/src/app.ts', lineNumber: 9 }, children: [3] },
        { id: 3, callFrame: { functionName: 'allRows', url: 'file:///project/src/db/sqlite-statements.ts', lineNumber: 20 } },
        { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
        { id: 5, callFrame: { functionName: 'render', url: 'file:///project/views/home.ejs', lineNumber: 0 } },
      ],
      startTime: 0,
      endTime: 6000,
      samples: [2, 3, 3, 4, 5, 5],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const summary = summariseProfile(withDriver, { from: 0, to: 10_000 }, '/project');
    assert.equal(summary.busyMs, 6);
    assert.equal(summary.ownCodeMs, 3, 'handler and the template: 1 + 2 ms, not the 2 ms inside the driver call');
    assert.equal(summary.garbageCollectorMs, 1);
  });
});

describe('the floor of CPU per sign-in', () => {
  const summary = (busyMs: number, ownCodeMs: number, garbageCollectorMs: number): ProfileSummary => ({
    windowMs: 1000,
    busyMs,
    self: [],
    inclusive: [],
    byArea: [],
    ours: [],
    ownCodeMs,
    garbageCollectorMs,
  });

  it("when both sides' main threads are profiled over the same sign-ins, then the floor is ours without our own code and without garbage collection, against theirs", () => {
    // 10 sign-ins: ours 100 ms (own code 20 ms, collections 5 ms), theirs 90 ms → floor 75 ms = 0.83×; measured 1.11×.
    const text = formatSignInFloor(summary(100, 20, 5), summary(90, 0, 3), 10, 0.8);
    assert.match(text, /our app: 10\.00 ms a sign-in, of which our own JavaScript 2\.00 ms and garbage collection 0\.50 ms/);
    assert.match(text, /the rest \(.*\): 7\.50 ms/);
    assert.match(text, /express-openid-connect: 9\.00 ms a sign-in/);
    assert.match(
      text,
      /with our own code and every collection free: 0\.83× express-openid-connect \(target ≤ 0\.8×\); as measured: 1\.11×/,
    );
  });
});

describe('bundledSource', () => {
  it("when a function sits in the server's bundle, then it is named by the module esbuild's comment above it names", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-bundle-'));
    try {
      fs.mkdirSync(path.join(project, 'dist'));
      const bundle = ['import x from "y";', '', '// node_modules/express/index.js', 'var a = 1;', '// src/app.ts', 'function b() {}'];
      fs.writeFileSync(path.join(project, 'dist', 'server-chunk-AB12.js'), bundle.join('\n'));
      assert.equal(bundledSource(project, 'dist/server-chunk-AB12.js', 0), undefined);
      assert.equal(bundledSource(project, 'dist/server-chunk-AB12.js', 3), 'node_modules/express/index.js');
      assert.equal(bundledSource(project, 'dist/server-chunk-AB12.js', 5), 'src/app.ts');
      assert.equal(bundledSource(project, 'dist/app.js', 5), undefined, 'a file compiled by tsc is named as it is');
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
