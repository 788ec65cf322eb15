import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchJson } from '../../src/fetch-json.ts';

describe('fetchJson: discovery and key sets from the provider', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/json') res.end(JSON.stringify({ accept: req.headers.accept, issuer: 'x' }));
      else if (req.url === '/silent') return;
      else if (req.url === '/half') {
        res.writeHead(200);
        res.write('{"keys":');
      } else if (req.url === '/moved') {
        res.writeHead(302, { location: '/json' });
        res.end();
      } else if (req.url === '/html') res.end('<html>');
      else {
        res.writeHead(500);
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('when the answer is 2xx JSON, then it is parsed, asked for as JSON', async () => {
    assert.deepEqual(await fetchJson(`${base}/json`, { timeoutMs: 2000 }), { accept: 'application/json', issuer: 'x' });
  });

  it('when the provider answers nothing, or stops halfway through the body, then it gives up at the timeout', async () => {
    await assert.rejects(fetchJson(`${base}/silent`, { timeoutMs: 200 }), { name: 'AbortError' });
    await assert.rejects(fetchJson(`${base}/half`, { timeoutMs: 200 }), { name: 'AbortError' });
  });

  it('when the answer is a redirect, an error status or not JSON, then it throws and follows nothing', async () => {
    await assert.rejects(fetchJson(`${base}/moved`, { timeoutMs: 2000 }), /answered 302/);
    await assert.rejects(fetchJson(`${base}/broken`, { timeoutMs: 2000 }), /answered 500/);
    await assert.rejects(fetchJson(`${base}/html`, { timeoutMs: 2000 }), /other than JSON/);
  });

  it('when nothing listens, then it throws', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(fetchJson(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 }), /ECONNREFUSED/);
  });
});
