import type express from 'express';
import helmet from 'helmet';
import type { HelmetOptions } from 'helmet';
import type { Config } from '../config.ts';
import { servesHttps } from '../config.ts';

/** The security headers of every page, by name (S31): the CSP, nosniff, no-referrer, HSTS on https, and helmet's others. */
export type SecurityHeaders = Readonly<Record<string, string>>;

/** The settings the headers depend on: the host forms may post to (Microsoft's, for sign-out) and whether the app is served over https. */
type HeaderSettings = Pick<Config, 'authorityHost' | 'baseUrl'>;

/** helmet's options for this app: the one definition of the CSP and of every other security header. */
function helmetOptions(settings: HeaderSettings | undefined): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'frame-ancestors': ["'none'"],
        // Sign-out posts to Microsoft's end-session endpoint.
        'form-action': settings === undefined ? ["'self'"] : ["'self'", settings.authorityHost],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: settings !== undefined && servesHttps(settings),
  };
}

/**
 * The headers helmet sends with the app's settings, read once from helmet itself, so that a page answered before
 * Express (the HTTP server's 400/408/414/431) carries exactly the headers of the app's pages. Without settings (no
 * app yet): the same definition with forms posting only to this site and no HSTS.
 */
function securityHeadersFor(settings: HeaderSettings | undefined): SecurityHeaders {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number) => {
      headers[name] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name];
    },
  };
  let outcome: { error: unknown } | undefined;
  // helmet's middleware only sets and removes headers, at once; a static CSP needs nothing from the request.
  helmet(helmetOptions(settings))({} as never, recorder as never, (error?: unknown) => {
    outcome = { error };
  });
  if (outcome === undefined || outcome.error !== undefined) {
    throw new Error('helmet did not set its headers at once', { cause: outcome?.error });
  }
  return Object.freeze(headers);
}

/**
 * The middleware that sets the security headers on every response of `app`; keeps them in `app.locals` too, where the
 * HTTP server finds them for the pages it answers itself.
 */
export function securityHeadersMiddleware(app: express.Express, settings: HeaderSettings): express.RequestHandler {
  const headers = securityHeadersFor(settings);
  const entries = Object.entries(headers);
  app.locals.securityHeaders = headers;
  return (_req, res, next) => {
    for (const [name, value] of entries) res.setHeader(name, value);
    next();
  };
}

/** The app's security headers, or those without settings when there is no app (yet) or it has none attached. */
export function securityHeadersOf(app: express.Application | undefined): SecurityHeaders {
  const attached: unknown = app?.locals?.securityHeaders;
  return isSecurityHeaders(attached) ? attached : DEFAULT_HEADERS;
}

const DEFAULT_HEADERS = securityHeadersFor(undefined);

function isSecurityHeaders(value: unknown): value is SecurityHeaders {
  return typeof value === 'object' && value !== null && Object.values(value).every((header) => typeof header === 'string');
}
