import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Several middlewares run in order as one router layer: what every request passes through first (request id and log,
 * security headers, the checks of the request target). The router's dispatch of a layer is a measurable share of a page
 * that does little else (bench profile); here each handler's `next()` calls the following one directly. A handler that
 * throws, rejects or calls `next(error)` hands the error to Express, as it would as a layer of its own.
 */
export function inOneLayer(...handlers: readonly RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        next(error);
        return;
      }
      const handler = handlers[index];
      index += 1;
      if (handler === undefined) {
        next();
        return;
      }
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
