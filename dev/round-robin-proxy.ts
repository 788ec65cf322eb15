// Development only: a load balancer that is NOT sticky. Every request goes to the next instance in turn, so a
// browser's consecutive requests land on different instances (npm run demo -- --instances 2, and the tests).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export interface RoundRobinProxy {
  /** e.g. http://127.0.0.1:5000 */
  readonly url: string;
  /** How many requests each upstream answered, in the order given. */
  answeredBy(): number[];
  close(): Promise<void>;
}

export interface RoundRobinProxyOptions {
  /** The instances' origins, e.g. ['http://127.0.0.1:5801', 'http://127.0.0.1:5802']. */
  upstreams: readonly string[];
  port?: number;
  host?: string;
  /** Told when an upstream refuses a connection (then the next one is tried). */
  onUpstreamDown?: (upstream: string, reason: string) => void;
}

/**
 * Forwards each request, its Host and other end-to-end headers unchanged and its body streamed, to the next upstream
 * in turn. An upstream that cannot be reached is skipped for this request (the next one is tried; the request body
 * is not read until a connection is open, so nothing is lost); when none can be reached, a 502.
 */
export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  const upstreams = options.upstreams.map((upstream) => new URL(upstream));
  const answered = upstreams.map(() => 0);
  let next = 0;

  const server = http.createServer((req, res) => {
    const first = next;
    next = (next + 1) % upstreams.length;
    const tryUpstream = (attempt: number): void => {
      if (attempt >= upstreams.length) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end('Bad gateway: no instance answered.\n');
        return;
      }
      const index = (first + attempt) % upstreams.length;
      const upstream = upstreams[index]!;
      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
      const forwardedFor = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress].filter(Boolean).join(', ');
      let connected = false;
      const forward = http.request({
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent: false,
      });
      forward.on('socket', (socket) =>
        socket.once('connect', () => {
          connected = true;
          req.pipe(forward);
        }),
      );
      forward.on('response', (answer) => {
        answered[index] = (answered[index] ?? 0) + 1;
        const raw: string[] = [];
        for (let i = 0; i < answer.rawHeaders.length; i += 2) {
          if (!HOP_BY_HOP.has(answer.rawHeaders[i]!.toLowerCase())) raw.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, raw);
        answer.pipe(res);
      });
      forward.on('error', (error: NodeJS.ErrnoException) => {
        if (!connected) {
          options.onUpstreamDown?.(upstream.origin, error.code ?? error.message);
          tryUpstream(attempt + 1);
        } else if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
          res.end('Bad gateway: the instance failed while answering.\n');
        } else {
          res.destroy();
        }
      });
    };
    tryUpstream(0);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    answeredBy: () => [...answered],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
