import path from 'node:path';
import { bundledSource } from './bundled-sources.ts';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) that the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Time per entry within one window of a profile, in milliseconds. */
export interface ProfileSummary {
  readonly windowMs: number;
  /** Sampled time that was not idle. */
  readonly busyMs: number;
  readonly self: readonly { name: string; ms: number }[];
  readonly inclusive: readonly { name: string; ms: number }[];
  /** Self time by package (node_modules/<name>), Node's internals, our own folders, GC and native code. */
  readonly byArea: readonly { name: string; ms: number }[];
  /** Inclusive time of our own functions (src/, views/). */
  readonly ours: readonly { name: string; ms: number }[];
  /**
   * Self time of our own JavaScript (src/, views/), without the calls into the SQLite driver (DRIVER_CALLS): what the
   * app would save if its own code took no time at all.
   */
  readonly ownCodeMs: number;
  /** Self time of the garbage collector. */
  readonly garbageCollectorMs: number;
}

/**
 * The functions of ours whose self time is the SQLite driver's native work: src/db/sqlite-statements.ts hands each
 * statement to better-sqlite3 in a one-line function (`allRows`, `runStatement`), and V8 counts the native call inside it.
 */
const DRIVER_CALLS = new Set(['allRows src/db/sqlite-statements.ts', 'runStatement src/db/sqlite-statements.ts']);

const NATIVE = new Set(['(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string, projectRoot: string): string {
  // EJS names its compiled templates by their quoted path.
  const unquoted = url.replace(/^"(.*)"$/, '$1');
  const file = unquoted.startsWith('file://') ? decodeURIComponent(new URL(unquoted).pathname) : unquoted;
  return file.startsWith(projectRoot) ? path.relative(projectRoot, file) : file;
}

function areaOf(name: string, file: string): string {
  if (NATIVE.has(name)) return name;
  const packages = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/);
  if (packages !== null) return packages[1]!;
  if (file.startsWith('node:')) return 'node: (Node.js internals)';
  if (file.startsWith('wasm://')) return 'WebAssembly (wasm://)';
  if (file === '') return '(native or V8 builtins)';
  const folder = file.split('/')[0]!;
  return ['src', 'dev', 'views'].includes(folder) ? `${folder}/ (our code)` : file;
}

function top(totals: Map<string, number>, count: number): { name: string; ms: number }[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms }));
}

/**
 * Self and inclusive time of each function for the samples taken between `from` and `to`
 * (microseconds of the monotonic clock, as `process.hrtime.bigint() / 1000n` reads it). Idle time is left out.
 */
export function summariseProfile(
  profile: CpuProfile,
  window: { from: number; to: number },
  projectRoot: string,
  count = 15,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const label = new Map(
    profile.nodes.map((node) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const bundleUrl = shortUrl(url, projectRoot);
      // A function of the server's bundle is named by the module it came from, then by where it sits in the bundle.
      const source = bundledSource(projectRoot, bundleUrl, lineNumber);
      const file = source ?? bundleUrl;
      const position = source === undefined ? `${file}:${lineNumber + 1}` : `${source} (${bundleUrl}:${lineNumber + 1})`;
      const name = functionName === '' ? (file === '' ? '(anonymous)' : '(anonymous function)') : functionName;
      const area = areaOf(name, file);
      const ownCode = area.endsWith('(our code)') && !DRIVER_CALLS.has(`${name} ${file}`);
      return [node.id, { text: file === '' ? name : `${name} ${position}`, area, idle: name === '(idle)', ownCode }];
    }),
  );

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyMs = 0;
  let ownCodeMs = 0;
  let time = profile.startTime;
  profile.samples.forEach((sampleId, index) => {
    time += profile.timeDeltas[index] ?? 0;
    if (time < window.from || time > window.to) return;
    // Like Chrome's DevTools: a sample stands for the time until the next one.
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    const sample = label.get(sampleId)!;
    if (sample.idle) return;
    busyMs += ms;
    if (sample.ownCode) ownCodeMs += ms;
    self.set(sample.text, (self.get(sample.text) ?? 0) + ms);
    byArea.set(sample.area, (byArea.get(sample.area) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = sampleId; id !== undefined && byId.has(id); id = parentOf.get(id)) {
      const text = label.get(id)!.text;
      if (text === '(root)' || seen.has(text)) continue;
      seen.add(text);
      inclusive.set(text, (inclusive.get(text) ?? 0) + ms);
    }
  });
  const ours = new Map([...inclusive].filter(([text]) => / (src|views)\//.test(text)));
  return {
    windowMs: (window.to - window.from) / 1000,
    busyMs,
    self: top(self, count),
    inclusive: top(inclusive, count),
    byArea: top(byArea, count),
    ours: top(ours, count),
    ownCodeMs,
    garbageCollectorMs: byArea.get('(garbage collector)') ?? 0,
  };
}

/** The summary as text: per-operation figures when `operations` is given. */
export function formatProfileSummary(title: string, summary: ProfileSummary, operations?: { count: number; name: string }): string {
  const per = (ms: number) => (operations === undefined ? '' : `  ${(ms / operations.count).toFixed(2)} ms/${operations.name}`);
  const share = (ms: number) => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)}%`;
  const table = (rows: readonly { name: string; ms: number }[]) =>
    rows.map((row) => `  ${share(row.ms)} ${row.ms.toFixed(0).padStart(6)} ms${per(row.ms)}  ${row.name}`);
  return [
    `== ${title}: the main thread was busy ${summary.busyMs.toFixed(0)} ms of a ${summary.windowMs.toFixed(0)} ms window${per(summary.busyMs)}`,
    "   (samples of the main thread: synchronous waits such as SQLite's fsync count as busy; /proc counts only CPU)",
    'self time by area:',
    ...table(summary.byArea),
    'top self time:',
    ...table(summary.self),
    'top inclusive time:',
    ...table(summary.inclusive),
    'our functions, inclusive time:',
    ...table(summary.ours),
    `our own JavaScript (src/, views/; not SQLite's work inside its calls), self time: ${share(summary.ownCodeMs)} ${summary.ownCodeMs.toFixed(0)} ms${per(summary.ownCodeMs)}`,
  ].join('\n');
}
