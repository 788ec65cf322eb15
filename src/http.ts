/** Fetches JSON with a timeout and without following redirects; anything but a 2xx JSON answer throws. */
export async function fetchJson(url: string, options: { timeoutMs: number; headers?: Record<string, string> }): Promise<unknown> {
  const response = await fetch(url, {
    headers: { accept: 'application/json', ...options.headers },
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`GET ${url} answered with something other than JSON`);
  }
}
