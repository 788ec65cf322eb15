import assert from 'node:assert/strict';
import type http from 'node:http';
import type net from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { silentLogger } from '../../src/log.ts';
import { createHttpServer } from '../../src/web/http-server.ts';

/** An app whose one route reports what its request looked like when Express handed it over. */
function reportingApp(name: string): express.Express {
  const app = express();
  app.get('/report', (req, res) => {
    res.json({
      app: name,
      sameApp: req.app === app,
      prototypeIsTheApps: Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response,
      path: req.path,
      query: req.query,
    });
  });
  return app;
}

async function withServer(app: () => express.Express, work: (origin: string, server: http.Server) => Promise<void>): Promise<void> {
  const server = createHttpServer(silentLogger, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await work(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, server);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("the HTTP server's requests and responses, built with the app's prototypes", () => {
  it('when requests arrive, then each already has the prototypes Express would give it (Express changes none), and Express works on it as usual', async () => {
    const app = reportingApp('one');
    await withServer(
      () => app,
      async (origin, server) => {
        const built: unknown[] = [];
        server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
          built.push(Object.getPrototypeOf(req), Object.getPrototypeOf(res));
        });
        for (const query of ['a=1', 'b=2']) {
          const response = await fetch(`${origin}/report?${query}`);
          assert.equal(response.status, 200);
          const [key, value] = query.split('=') as [string, string];
          assert.deepEqual(await response.json(), {
            app: 'one',
            sameApp: true,
            prototypeIsTheApps: true,
            path: '/report',
            query: { [key]: value },
          });
        }
        assert.deepEqual(built, [app.request, app.response, app.request, app.response], 'built with the prototypes Express then finds');
        assert.equal((await fetch(`${origin}/missing`)).status, 404);
      },
    );
  });

  it('when the same server is given another app, then that one keeps its own prototypes and still serves its requests as its own', async () => {
    const apps = [reportingApp('first'), reportingApp('second')];
    let current = 0;
    await withServer(
      () => apps[current] as express.Express,
      async (origin) => {
        assert.equal(((await (await fetch(`${origin}/report`)).json()) as { app: string }).app, 'first');
        current = 1;
        assert.deepEqual(await (await fetch(`${origin}/report?x=1`)).json(), {
          app: 'second',
          sameApp: true,
          prototypeIsTheApps: true,
          path: '/report',
          query: { x: '1' },
        });
        current = 0;
        assert.equal(((await (await fetch(`${origin}/report`)).json()) as { sameApp: boolean; app: string }).app, 'first');
      },
    );
  });
});
