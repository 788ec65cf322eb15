import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { inOneLayer } from '../../src/web/one-layer.ts';

/** Runs `layer` once and says how it ended: next() or next(error), and which handlers ran. */
function run(layer: RequestHandler): Promise<{ error: unknown }> {
  return new Promise((resolve) => {
    const next = ((error?: unknown) => resolve({ error })) as NextFunction;
    layer({} as Request, {} as Response, next);
  });
}

describe('several middlewares in one router layer', () => {
  it('when every handler calls next, then they run in order and the layer calls next once, with no error', async () => {
    const ran: number[] = [];
    const handler =
      (n: number): RequestHandler =>
      (_req, _res, next) => {
        ran.push(n);
        if (n === 2) setImmediate(next);
        else next();
      };
    assert.deepEqual(await run(inOneLayer(handler(1), handler(2), handler(3))), { error: undefined });
    assert.deepEqual(ran, [1, 2, 3]);
  });

  it('when a handler throws, rejects or passes an error to next, then the layer passes it on and the handlers after it do not run', async () => {
    const failure = new Error('refused');
    const after: RequestHandler = () => assert.fail('a handler after the failing one ran');
    const throwing: RequestHandler = () => {
      throw failure;
    };
    const rejecting = (async () => {
      throw failure;
    }) as unknown as RequestHandler;
    const passing: RequestHandler = (_req, _res, next) => next(failure);
    for (const failing of [throwing, rejecting, passing]) {
      assert.deepEqual(await run(inOneLayer(failing, after)), { error: failure });
    }
  });
});
