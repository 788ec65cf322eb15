import http from 'node:http';
import type { Socket } from 'node:net';
import type express from 'express';

/** The classes an HTTP server builds its requests and responses from, and how it gives their prototypes to its app. */
export interface RequestPrototypes {
  readonly IncomingMessage: typeof http.IncomingMessage;
  readonly ServerResponse: typeof http.ServerResponse<http.IncomingMessage>;
  /** Makes the classes' prototypes `app`'s request and response prototypes; true when they are (now or already). */
  adopt(app: express.Express): boolean;
}

/**
 * The properties that Express's router, the app's middleware and its routes set on a request, in one order. V8 gives
 * objects that receive the same properties in the same order one hidden class; here the properties a request gets
 * depend on its path (the signed-out page skips the session, /connect and its callback add the rate limit's, the
 * callback and the signed-in page the sign-in), so requests of a sign-in and those of the pages had four classes, and
 * the code that every request runs, compiled for the pages' requests, was thrown away when a sign-in came (V8's
 * --trace-deopt: "wrong map" in Express's `send`, Node's `writeHead` and `end`). A request built with all of them,
 * undefined until they are set, has one class whatever its path. Never a property that Express's request defines as
 * a getter (`query`, `path`, `ip` …): an own property would hide it.
 */
const REQUEST_FIELDS: Readonly<Record<string, undefined>> = Object.freeze({
  // Express (application.js, router/index.js) and parseurl.
  res: undefined,
  next: undefined,
  baseUrl: undefined,
  originalUrl: undefined,
  _parsedUrl: undefined,
  _parsedOriginalUrl: undefined,
  params: undefined,
  route: undefined,
  // body-parser, on the forms' POSTs.
  body: undefined,
  // The request log (request-log.ts).
  id: undefined,
  log: undefined,
  // express-rate-limit on /connect and its callback.
  rateLimit: undefined,
  // express-session.
  sessionStore: undefined,
  sessionID: undefined,
  session: undefined,
  // The signed-in read (callback-route.ts, home-route.ts).
  signIn: undefined,
});

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
  class AppRequest extends http.IncomingMessage {
    constructor(socket: Socket) {
      super(socket);
      // One builtin call, in the object's order: no iterator for each request (which runs before V8 optimises it).
      Object.assign(this, REQUEST_FIELDS);
    }
  }
  class AppResponse extends http.ServerResponse<http.IncomingMessage> {
    constructor(req: http.IncomingMessage) {
      super(req);
      const fields = this as unknown as Record<string, unknown>;
      // The same for a response: Express sets `locals`; express-session (with on-headers) replaces `writeHead` and `end`
      // on the responses of requests with a session; Node keeps the status defaults on its prototype and sets them in
      // the order a route answers. Each starts as its own property, with the value it would otherwise find.
      fields.locals = undefined;
      fields.writeHead = this.writeHead;
      fields.end = this.end;
      fields.statusCode = this.statusCode;
      fields.statusMessage = this.statusMessage;
    }
  }
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
