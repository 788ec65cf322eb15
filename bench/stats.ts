/** A figure measured for our app and for its baseline in each round, side by side. */
export interface Comparison {
  readonly key: string;
  /** What is measured, for the table. */
  readonly title: string;
  readonly unit: string;
  readonly baselineName: string;
  /** ≤ for costs, ≥ for throughput; absent for figures printed for information only. */
  readonly target?: {
    readonly op: '<=' | '>=';
    /** What the median of the per-round ratios must meet. */
    readonly ratio: number;
    /** What every single round's ratio must meet (the previous target: no round may fall back behind it). */
    readonly everyRound?: number;
  };
  readonly ours: number[];
  readonly baseline: number[];
}

/** A figure with no rounds measured yet. */
export function newComparison(figure: Omit<Comparison, 'ours' | 'baseline'>): Comparison {
  return { ...figure, ours: [], baseline: [] };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Our figure over the baseline's, round by round. */
export function roundRatios(comparison: Comparison): number[] {
  return comparison.ours.map((value, index) => value / comparison.baseline[index]!);
}

/** The ratio the table reports: the median of the per-round ratios (each taken side by side). */
export function ratioOf(comparison: Comparison): number {
  return median(roundRatios(comparison));
}

/** True, false, or undefined when the figure has no target: the median must meet the target, and every round its floor. */
export function meetsTarget(comparison: Comparison): boolean | undefined {
  const { target } = comparison;
  if (target === undefined) return undefined;
  const meets = (ratio: number, limit: number) => (target.op === '<=' ? ratio <= limit : ratio >= limit);
  const { everyRound } = target;
  return (
    meets(ratioOf(comparison), target.ratio) &&
    (everyRound === undefined || roundRatios(comparison).every((ratio) => meets(ratio, everyRound)))
  );
}

export function formatFigure(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(ratio < 0.1 ? 3 : 2)}×` : 'n/a';
}
