import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * User + system CPU time of a process in milliseconds, to the nanosecond: the sum of its threads' time on a CPU as the
 * scheduler counts it (/proc/<pid>/task/<tid>/schedstat, sched-stats.rst). /proc/<pid>/stat holds the same time rounded
 * down to 10 ms clock ticks, too coarse for a few tens of sign-ins of a few ms each. Threads that ended are not in the
 * sum (stat keeps them): a difference over a round counts the threads alive at both ends, and Node's threads (main,
 * V8 platform, libuv pool) live as long as the process. Where schedstat is missing, the clock ticks of stat.
 */
export function cpuMilliseconds(pid: number): number {
  const precise = schedulerMilliseconds(pid);
  return precise ?? clockTickMilliseconds(pid);
}

function schedulerMilliseconds(pid: number): number | undefined {
  let nanoseconds = 0;
  try {
    for (const thread of fs.readdirSync(`/proc/${pid}/task`)) {
      let line: string;
      try {
        line = fs.readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8');
      } catch {
        // The thread ended while we looked.
        continue;
      }
      // The first field is the time spent on a CPU, in nanoseconds.
      const onCpu = Number(line.split(' ')[0]);
      if (!Number.isFinite(onCpu)) return undefined;
      nanoseconds += onCpu;
    }
  } catch {
    return undefined;
  }
  return nanoseconds / 1e6;
}

/** The thread in which V8's CPU profiler (node --cpu-prof) records its samples: its cost is the profiler's, not the app's. */
const PROFILER_THREAD = 'v8:ProfEvntProc';

/**
 * CPU time of a process's main thread and of its other threads (V8's helpers, libuv's pool), in milliseconds from
 * schedstat, leaving out the CPU profiler's own thread. For profiled runs, where the main thread is what the profile shows.
 */
export function threadCpuMilliseconds(pid: number): { main: number; others: number } {
  const split = { main: 0, others: 0 };
  for (const thread of fs.readdirSync(`/proc/${pid}/task`)) {
    let line: string;
    let name: string;
    try {
      line = fs.readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8');
      name = fs.readFileSync(`/proc/${pid}/task/${thread}/comm`, 'utf8').trim();
    } catch {
      // The thread ended while we looked.
      continue;
    }
    if (name === PROFILER_THREAD) continue;
    const milliseconds = Number(line.split(' ')[0]) / 1e6;
    if (thread === String(pid)) split.main += milliseconds;
    else split.others += milliseconds;
  }
  return split;
}

function clockTickMilliseconds(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of a process in bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const match = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The process and all its descendants. */
function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(statFields(Number(entry))[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [rootPid];
  for (let index = 0; index < tree.length; index += 1) tree.push(...(children.get(tree[index]!) ?? []));
  return tree;
}

function listeningSocketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = fs.readFileSync(table, 'utf8').trim().split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const columns = line.trim().split(/\s+/);
      // Column 3 is the state: 0A is LISTEN.
      if (columns[1]?.endsWith(`:${portHex}`) && columns[3] === '0A') inodes.add(columns[9]!);
    }
  }
  return inodes;
}

/**
 * The process under `rootPid` that listens on `port`: with `npm start` that is not the npm process but
 * the node process it runs (through sh, and today through tsx), so the figures follow the start script.
 */
export function listeningProcess(rootPid: number, port: number): number | undefined {
  const inodes = listeningSocketInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of processTree(rootPid)) {
    let descriptors: string[];
    try {
      descriptors = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const descriptor of descriptors) {
      try {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${descriptor}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return pid;
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return undefined;
}
