import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { createLogger } from '../../src/log.ts';
import { createHttpServer } from '../../src/web/http-server.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';

const CAP = HTTP_LIMITS.maxConnectionsPerAddress;

/** The project's HTTP server with its real limits on loopback, an app answering "ok", and every connection it accepted. */
async function startServer(trustProxy?: string | number) {
  const lines: string[] = [];
  const app = express();
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  const server = createHttpServer(
    createLogger((line) => lines.push(line)),
    () => app,
  );
  // Registered after the server's own listener: when it runs, the server has counted (or refused) the connection.
  const accepted: net.Socket[] = [];
  let onAccepted: () => void = () => undefined;
  server.on('connection', (socket: net.Socket) => {
    accepted.push(socket);
    onAccepted();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const clients: net.Socket[] = [];
  return {
    lines,
    /** A connection from `localAddress` (any 127.x.y.z is this machine), open once the server has taken it in. */
    async connect(localAddress: string): Promise<net.Socket> {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress });
      clients.push(socket);
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const arrived = new Promise<void>((resolve) => {
        onAccepted = () => {
          if (accepted.some((peer) => peer.remotePort === socket.localPort)) resolve();
        };
        onAccepted();
      });
      await arrived;
      return socket;
    },
    /** The server's end of a client's connection. */
    serverSideOf(socket: net.Socket): net.Socket {
      const peer = accepted.find(
        (candidate) => candidate.remotePort === socket.localPort && candidate.remoteAddress === socket.localAddress,
      );
      assert.ok(peer, 'the server accepted this connection');
      return peer;
    },
    async close() {
      for (const socket of clients) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends GET / on the connection and returns what came back before it closed ('' when closed unanswered). */
function answerOf(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.once('close', () => resolve(text));
    if (!socket.destroyed) socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
}

describe('S53: connections per client address', () => {
  it(`S53: when one address holds ${CAP} connections, then its next one is closed unanswered while another address is served, and a freed slot serves it again`, async () => {
    const server = await startServer();
    try {
      const held: net.Socket[] = [];
      for (let i = 0; i < CAP; i += 1) held.push(await server.connect('127.0.0.1'));

      assert.equal(await answerOf(await server.connect('127.0.0.1')), '', `connection ${CAP + 1} of one address is closed unanswered`);
      const refusal = server.lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.message === 'connections refused: one address is at its connection limit');
      assert.deepEqual([refusal?.level, refusal?.address, refusal?.maxConnectionsPerAddress], ['warn', '127.0.0.1', CAP], 'logged');
      assert.match(await answerOf(await server.connect('127.0.0.2')), /^HTTP\/1\.1 200 OK[\s\S]*ok$/, 'another client is served');
      assert.match(await answerOf(held[1]!), /^HTTP\/1\.1 200 OK/, 'the held connections work');

      const freed = server.serverSideOf(held[0]!);
      held[0]!.destroy();
      await once(freed, 'close');
      assert.match(await answerOf(await server.connect('127.0.0.1')), /^HTTP\/1\.1 200 OK/, 'a freed slot serves the address again');
    } finally {
      await server.close();
    }
  });

  for (const trustProxy of ['loopback', 1]) {
    it(`S53: when the peer is a proxy the app trusts (TRUST_PROXY=${trustProxy}), then its connections are not capped per address: every client has its address`, async () => {
      const server = await startServer(trustProxy);
      try {
        for (let i = 0; i < CAP; i += 1) await server.connect('127.0.0.1');
        assert.match(await answerOf(await server.connect('127.0.0.1')), /^HTTP\/1\.1 200 OK/);
        assert.doesNotMatch(server.lines.join(''), /connections refused/);
      } finally {
        await server.close();
      }
    });
  }
});
