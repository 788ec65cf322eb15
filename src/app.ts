import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import helmet from 'helmet';
import type { Config } from './config.ts';
import type { Database } from './db.ts';
import type { Logger } from './log.ts';
import { createDiscovery } from './auth/discovery.ts';
import type { Discovery } from './auth/discovery.ts';
import { createIdTokenVerifier } from './auth/id-token.ts';
import { createSigningKeys } from './auth/signing-keys.ts';
import { createSignInRateLimit, rejectLongUrls } from './security/request-limits.ts';
import { createConnectRoute } from './auth/connect-route.ts';
import { createCallbackRoute } from './auth/callback-route.ts';
import { createSessionMiddleware, sessionCookieName } from './sessions/session-middleware.ts';
import { createTokenCipher } from './tokens/token-cipher.ts';
import { createTokenStore } from './tokens/token-store.ts';
import { createHomeRoute } from './web/home-route.ts';
import { createLogoutRoute } from './web/logout-route.ts';
import { createErrorHandler, notFound } from './web/error-handler.ts';
import { SignInError } from './errors.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDependencies {
  database: Database;
  logger: Logger;
  /** Defaults to discovery over HTTP from the configured authority. */
  discovery?: Discovery;
  /** The clock for pending sign-ins, sessions and key caching; tests move it. Defaults to Date.now. */
  now?: () => number;
}

export interface App {
  handler: express.Express;
  discovery: Discovery;
  /** Stops background timers (the session purge). */
  close(): void;
}

/** Builds the whole app from its configuration; no module-level state, so tests build their own. */
export function createApp(config: Config, dependencies: AppDependencies): App {
  const { database, logger, now = Date.now } = dependencies;
  const discovery = dependencies.discovery ?? createDiscovery(config, logger, now);
  const tokenStore = createTokenStore(database, createTokenCipher([config.tokenEncryptionKey, ...config.previousTokenEncryptionKeys]));
  const sessions = createSessionMiddleware(config, database, logger, now);
  const signingKeys = createSigningKeys({ timeoutMs: config.httpTimeoutMs, now, logger });

  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', path.join(projectRoot, 'views'));
  app.set('query parser', 'simple');
  if (config.trustProxy !== false) app.set('trust proxy', config.trustProxy);

  app.use(helmet({
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
        'form-action': ["'self'", config.authorityHost],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: config.baseUrl.startsWith('https:'),
  }));
  app.use(rejectLongUrls);
  app.use('/connect', createSignInRateLimit(config));
  app.use(express.static(path.join(projectRoot, 'public'), { index: false, maxAge: '1h' }));
  app.use(sessions.middleware);
  app.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }));

  app.get('/', createHomeRoute(tokenStore));
  app.get('/connect', createConnectRoute(config, discovery, now));
  app.get('/connect/get_token', createCallbackRoute({ config, discovery, verifier: createIdTokenVerifier(config, signingKeys), tokenStore, logger, now }));
  app.post('/logout', createLogoutRoute(sessionCookieName(config)));
  for (const [route, allowed] of [['/', 'GET, HEAD'], ['/connect', 'GET, HEAD'], ['/connect/get_token', 'GET, HEAD'], ['/logout', 'POST']] as const) {
    app.all(route, (_req, res) => {
      res.set('Allow', allowed);
      throw new SignInError('bad_request', 'This address does not take that kind of request', 'The browser used a method this page does not accept.',
        { status: 405, fix: 'Go to the home page.' });
    });
  }
  app.use(notFound);
  app.use(createErrorHandler(logger));

  return { handler: app, discovery, close: () => sessions.store.close() };
}
