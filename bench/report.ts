import type { Comparison } from './stats.ts';
import { formatFigure, formatRatio, meetsTarget, median, ratioOf, roundRatios } from './stats.ts';

/** What the report says about the run besides the figures. */
export interface RunDescription {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly cpuModel: string;
  readonly cores: number;
  readonly nodeVersion: string;
  readonly os: string;
  readonly pinning: string;
  readonly loadAverage: { readonly start: string; readonly end: string };
  readonly durationSeconds: number;
  readonly settings: string;
}

function targetText(comparison: Comparison): string {
  const { target } = comparison;
  if (target === undefined) return '—';
  const op = target.op === '<=' ? '≤' : '≥';
  return `${op} ${target.ratio}×${target.everyRound === undefined ? '' : `, every round ${op} ${target.everyRound}×`}`;
}

function verdictText(comparison: Comparison): string {
  const verdict = meetsTarget(comparison);
  return verdict === undefined ? '(for information)' : verdict ? 'pass' : '**fail**';
}

/** One line per figure: medians, ratio, target, verdict. */
export function summaryLines(comparisons: readonly Comparison[]): string[] {
  return comparisons.map(
    (comparison) =>
      `${comparison.title}: ${formatFigure(median(comparison.ours), comparison.unit)} vs ${formatFigure(median(comparison.baseline), comparison.unit)} ` +
      `(${comparison.baselineName}) = ${formatRatio(ratioOf(comparison))}` +
      (comparison.target === undefined
        ? ' (for information)'
        : `, target ${targetText(comparison)}: ${meetsTarget(comparison) ? 'pass' : 'FAIL'}`),
  );
}

/** docs/BENCHMARKS.md. */
export function renderMarkdown(run: RunDescription, comparisons: readonly Comparison[]): string {
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench${run.mode === 'quick' ? ' -- --quick' : ''}\` on ${run.date} (${run.mode} run, ${run.durationSeconds} s). Run it again to check these figures on your machine.`,
    '',
    'Every figure is a ratio taken side by side in one run: our app and its baseline alternate (A B A B) round by round,',
    'and the ratio is the median of the per-round ratios. The figures of each side are medians of the same rounds.',
    'Where a target names a figure for every round, no single round may be worse than it (the previous target).',
    '',
    '![The ratios against their targets](benchmarks.svg)',
    '',
    '## Machine',
    '',
    `- CPU: ${run.cpuModel}, ${run.cores} cores`,
    `- Node.js ${run.nodeVersion}, ${run.os}`,
    `- Pinning: ${run.pinning}`,
    `- Load average (1, 5, 15 min) at the start: ${run.loadAverage.start}; at the end: ${run.loadAverage.end}`,
    `- Settings: ${run.settings}`,
    '',
    '## Results',
    '',
    '| what | our app | baseline | ratio | target | result |',
    '|---|---|---|---|---|---|',
    ...comparisons.map(
      (comparison) =>
        `| ${comparison.title} | ${formatFigure(median(comparison.ours), comparison.unit)} | ` +
        `${formatFigure(median(comparison.baseline), comparison.unit)} (${comparison.baselineName}) | ${formatRatio(ratioOf(comparison))} | ` +
        `${targetText(comparison)} | ${verdictText(comparison)} |`,
    ),
    '',
    '## How each figure is taken',
    '',
    "- **CPU per sign-in**: user + system time of the server process, summed over its threads from `/proc/<pid>/task/*/schedstat` (nanoseconds; `/proc/<pid>/stat` rounds to 10 ms ticks), over complete sign-ins taken in turn with the baseline's (one of ours, one of theirs, …)",
    "  (start, the provider's form, the callback, the page it lands on) driven over HTTP with a fresh cookie jar each, no browser,",
    '  against the bundled provider (`dev/idp`) running in a process of its own. The baseline is an express-openid-connect app',
    '  (`bench/baselines/eoc-app.ts`, code flow with PKCE, `client_secret_post`, its default cookie session) signing in at the same',
    '  provider through a concrete tenant path, and showing the same facts on its page. Both sides are warmed up alike first:',
    '  the same number of sign-ins, then load on their signed-out and signed-in pages (a sign-in ends on that page, so',
    '  warming one side alone would compile its shared code hot and leave the other cold).',
    '- **Pages**: autocannon (10 connections, in the bench process) on `/` signed out, and on `/` with the session cookie of a real sign-in. The baseline',
    '  is bare Express 5 + EJS (`bench/baselines/bare-express.mjs`, view cache on) rendering the bytes captured from our',
    '  signed-out and signed-in pages through an EJS template.',
    '- **Start**: `npm start` spawned as a user types it (project folder, `NODE_ENV` and the optional settings unset, a filled-in',
    '  environment pointing at the local provider, a fresh SQLite file in a temporary folder) until the first 200 on `/`, polled',
    '  every 5 ms; the baseline is the bare app started',
    '  with `node`. The first start (empty database, migrations applied) and the warm start (same database again) are both',
    '  measured; the target applies to the warm start.',
    '- **Idle memory**: VmRSS of the listening process (the node process under npm, not npm itself) after its start and one',
    '  request, left to settle, from the warm starts above.',
    '- **Cached token**: `npm run -s token` spawned as a script runs it (project folder, the filled-in environment, pinned like the',
    '  servers) until it exits, against a database of its own in which one real sign-in stored an unexpired token, so it prints',
    '  the stored token without a refresh (every run must print the same token alone on stdout). The baseline is a trivial',
    '  npm script printing a constant (`npm run -s bench:constant`: `node -e "console.log(1)"`), the two alternating run by run.',
    '- `SIGN_IN_RATE_LIMIT` is raised for the benchmark: the default of 60 sign-in requests a minute from one address would',
    "  refuse a benchmark's sign-ins.",
    '',
    '## All rounds',
    '',
  ];
  for (const comparison of comparisons) {
    lines.push(`### ${comparison.title}`, '', `| round | our app | ${comparison.baselineName} | ratio |`, '|---|---|---|---|');
    const ratios = roundRatios(comparison);
    comparison.ours.forEach((value, index) => {
      lines.push(
        `| ${index + 1} | ${formatFigure(value, comparison.unit)} | ${formatFigure(comparison.baseline[index]!, comparison.unit)} | ${formatRatio(ratios[index]!)} |`,
      );
    });
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * docs/benchmarks.svg: one bar per figure with a target, drawn from 1× on a logarithmic axis (0.01× to 100×),
 * green when it meets its target and red when not; the target is the black tick.
 */
export function renderChart(comparisons: readonly Comparison[], caption: string): string {
  const rows = comparisons.filter((comparison) => comparison.target !== undefined);
  const labelWidth = 300;
  const plotWidth = 440;
  const rowHeight = 46;
  const top = 44;
  const height = top + rows.length * rowHeight + 60;
  const width = labelWidth + plotWidth + 30;
  const x = (ratio: number) => labelWidth + ((Math.log10(Math.min(Math.max(ratio, 0.01), 100)) + 2) / 4) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13" role="img" aria-labelledby="title">`,
    '<title id="title">Our app against its baselines: each ratio and its target</title>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="600">Ratio to the baseline (log scale); black tick = target</text>`,
  ];
  for (const tick of [0.01, 0.1, 1, 10, 100]) {
    parts.push(
      `<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height - 52}" stroke="${tick === 1 ? '#555' : '#ddd'}"/>`,
      `<text x="${x(tick)}" y="${height - 34}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  rows.forEach((comparison, index) => {
    const y = top + index * rowHeight;
    const ratio = ratioOf(comparison);
    const pass = meetsTarget(comparison) === true;
    const from = Math.min(x(1), x(ratio));
    const barWidth = Math.max(Math.abs(x(ratio) - x(1)), 1);
    const targetX = x(comparison.target!.ratio);
    parts.push(
      `<text x="12" y="${y + 18}">${escapeXml(comparison.title)}</text>`,
      `<text x="12" y="${y + 34}" fill="#555" font-size="12">target ${escapeXml(targetText(comparison))}, measured ${formatRatio(ratio)}</text>`,
      `<rect x="${from.toFixed(1)}" y="${y + 8}" width="${barWidth.toFixed(1)}" height="22" fill="${pass ? '#2e7d32' : '#c62828'}"/>`,
      `<line x1="${targetX.toFixed(1)}" y1="${y + 2}" x2="${targetX.toFixed(1)}" y2="${y + 36}" stroke="#000" stroke-width="3"/>`,
      `<text x="${((ratio >= 1 ? x(ratio) : x(1)) + 6).toFixed(1)}" y="${y + 24}" font-weight="600">${formatRatio(ratio)}</text>`,
    );
  });
  parts.push(`<text x="12" y="${height - 10}" fill="#555" font-size="12">${escapeXml(caption)}</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
