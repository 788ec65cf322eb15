import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRoundRobinProxy } from '../../dev/round-robin-proxy.ts';
import type { RoundRobinProxy } from '../../dev/round-robin-proxy.ts';

/** An upstream that answers with its name, the Host it saw and the body it read, and sets two cookies. */
async function startEcho(name: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          name,
          host: req.headers.host,
          method: req.method,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          forwardedFor: req.headers['x-forwarded-for'],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the development round-robin proxy', () => {
  let first: Awaited<ReturnType<typeof startEcho>>;
  let second: Awaited<ReturnType<typeof startEcho>>;
  let proxy: RoundRobinProxy;
  const down: string[] = [];
  before(async () => {
    [first, second] = [await startEcho('first'), await startEcho('second')];
    proxy = await startRoundRobinProxy({ upstreams: [first.origin, second.origin], onUpstreamDown: (upstream) => down.push(upstream) });
  });
  after(async () => {
    // The second test closes both upstreams itself; closing one again is harmless, and a run of the first test alone needs it.
    await proxy.close();
    await Promise.all([first.close(), second.close()]);
  });

  it('when requests arrive, then each goes to the next upstream in turn with its Host, path, body and every Set-Cookie kept', async () => {
    const answers = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await fetch(`${proxy.url}/path?x=${i}`, { method: 'POST', body: `body ${i}` });
      assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
      answers.push((await response.json()) as { name: string; host: string; url: string; body: string; forwardedFor: string });
    }
    assert.deepEqual(
      answers.map((answer) => answer.name),
      ['first', 'second', 'first', 'second'],
    );
    assert.ok(answers.every((answer, index) => answer.url === `/path?x=${index}` && answer.body === `body ${index}`));
    assert.equal(new URL(proxy.url).host, answers[0]!.host, 'the Host the client sent');
    assert.equal(answers[0]!.forwardedFor, '127.0.0.1');
    assert.deepEqual(proxy.answeredBy(), [2, 2]);
  });

  it('when an upstream is down, then its turns go to the next one; when all are down, then 502', async () => {
    await second.close();
    const names = [];
    for (let i = 0; i < 4; i += 1)
      names.push((await (await fetch(`${proxy.url}/`, { method: 'POST', body: 'kept' })).json()) as { name: string; body: string });
    assert.deepEqual(
      names.map((answer) => answer.name),
      ['first', 'first', 'first', 'first'],
    );
    assert.ok(
      names.every((answer) => answer.body === 'kept'),
      'the body reaches the upstream that answers',
    );
    assert.ok(down.includes(second.origin));
    await first.close();
    const none = await fetch(`${proxy.url}/`);
    assert.equal(none.status, 502);
    first = { origin: first.origin, close: async () => {} };
  });
});
