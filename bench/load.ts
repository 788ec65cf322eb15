import autocannon from 'autocannon';

/** Throughput and tail latency of one autocannon run. */
export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
}

/** Runs autocannon against one URL; any error, timeout or non-2xx answer fails the benchmark rather than skewing it. */
export async function measureLoad(url: string, options: { seconds: number; connections: number; cookie?: string }): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.cookie === undefined ? {} : { cookie: options.cookie },
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`load on ${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
  }
  return { requestsPerSecond: result.requests.average, p99Ms: result.latency.p99 };
}
