/** How long and how often each figure is measured. */
export interface BenchSettings {
  readonly rounds: number;
  readonly signInsPerRound: number;
  readonly loadSeconds: number;
  readonly connections: number;
  readonly startRounds: number;
  readonly settleMs: number;
  readonly warmUpSignIns: number;
  readonly warmUpLoadSeconds: number;
  /** Runs of each command per round in the CLI row, alternating. */
  readonly commandRunsPerRound: number;
}

/** What `npm run bench [-- --quick | --profile]` was asked to do. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly profile: boolean;
  readonly settings: BenchSettings;
}

const QUICK: BenchSettings = {
  rounds: 3,
  signInsPerRound: 6,
  loadSeconds: 1,
  connections: 10,
  startRounds: 3,
  settleMs: 500,
  warmUpSignIns: 2,
  warmUpLoadSeconds: 1,
  commandRunsPerRound: 2,
};

const FULL: BenchSettings = {
  rounds: 5,
  signInsPerRound: 20,
  loadSeconds: 4,
  connections: 10,
  startRounds: 5,
  settleMs: 1500,
  warmUpSignIns: 5,
  warmUpLoadSeconds: 2,
  commandRunsPerRound: 3,
};

/** Reads the command line; an unknown option is a message for the user, not a stack trace. */
export function parseBenchOptions(argv: readonly string[]): { ok: true; options: BenchOptions } | { ok: false; message: string } {
  const args = new Set(argv);
  const unknown = [...args].filter((arg) => !['--quick', '--profile'].includes(arg));
  if (unknown.length > 0) return { ok: false, message: `Unknown option ${unknown.join(' ')}. Use: npm run bench [-- --quick | --profile]` };
  const quick = args.has('--quick');
  return { ok: true, options: { quick, profile: args.has('--profile'), settings: quick ? QUICK : FULL } };
}
