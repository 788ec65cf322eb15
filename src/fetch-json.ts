/** Fetches JSON with a timeout and without following redirects; anything but a 2xx JSON answer throws. */
export async function fetchJson(url: string, options: { timeoutMs: number; headers?: Record<string, string> }): Promise<unknown> {
  // node:http rather than fetch: discovery runs at start, and fetch's first call loads undici, a tenth of the start.
  // Loaded at the first request: `npm run token` printing a cached token asks nothing and loads neither (nor tls).
  const { default: client } = new URL(url).protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const request = client.get(
      url,
      { headers: { accept: 'application/json', ...options.headers }, signal: AbortSignal.timeout(options.timeoutMs) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(new Error(`GET ${url} answered ${status}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
          } catch {
            reject(new Error(`GET ${url} answered with something other than JSON`));
          }
        });
      },
    );
    request.on('error', reject);
  });
}
