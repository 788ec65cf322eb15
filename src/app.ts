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
import { createConnectRoute } from './auth/connect-route.ts';
import { createCallbackRoute } from './auth/callback-route.ts';
import { createSessionMiddleware, sessionCookieName } from './sessions/session-middleware.ts';
import { createTokenCipher } from './tokens/token-cipher.ts';
import { createTokenStore } from './tokens/token-store.ts';
import { createHomeRoute } from './web/home-route.ts';
import { createForgetRoute, createLogoutRoute } from './web/sign-out-routes.ts';
import { createRefreshRoute } from './web/refresh-route.ts';
import { createGraphCheckRoute } from './web/graph-check-route.ts';
import { createTokenService } from './tokens/token-service.ts';
import type { TokenService } from './tokens/token-service.ts';
import { createErrorHandler, notFound } from './web/error-handler.ts';
import { SignInError } from './errors.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDependencies {
  database: Database;
  logger: Logger;
  /** Defaults to discovery over HTTP from the configured authority. */
  discovery?: Discovery;
}

export interface App {
  handler: express.Express;
  discovery: Discovery;
  tokenService: TokenService;
  /** Stops background timers (the session purge). */
  close(): void;
}

/** Builds the whole app from its configuration; no module-level state, so tests build their own. */
export function createApp(config: Config, dependencies: AppDependencies): App {
  const { database, logger } = dependencies;
  const discovery = dependencies.discovery ?? createDiscovery(config, logger);
  const tokenStore = createTokenStore(database, createTokenCipher([config.tokenEncryptionKey]));
  const verifier = createIdTokenVerifier(config);
  const tokenService = createTokenService({ config, discovery, verifier, tokenStore, logger });
  const cookieName = sessionCookieName(config);
  const sessions = createSessionMiddleware(config, database, logger);

  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', path.join(projectRoot, 'views'));
  app.set('query parser', 'simple');

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
  app.use(express.static(path.join(projectRoot, 'public'), { index: false, maxAge: '1h' }));
  app.use(sessions.middleware);
  app.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }));

  app.get('/', createHomeRoute(config, tokenStore, tokenService));
  app.get('/connect', createConnectRoute(config, discovery));
  app.get('/connect/get_token', createCallbackRoute({ config, discovery, verifier, tokenStore, logger }));
  app.post('/refresh', createRefreshRoute(tokenService));
  app.post('/graph-check', createGraphCheckRoute(config, tokenService));
  app.post('/logout', createLogoutRoute(config, discovery, tokenStore, cookieName));
  app.post('/forget', createForgetRoute(config, tokenStore, cookieName));
  const routes = [['/', 'GET, HEAD'], ['/connect', 'GET, HEAD'], ['/connect/get_token', 'GET, HEAD'],
    ['/refresh', 'POST'], ['/graph-check', 'POST'], ['/logout', 'POST'], ['/forget', 'POST']] as const;
  for (const [route, allowed] of routes) {
    app.all(route, (_req, res) => {
      res.set('Allow', allowed);
      throw new SignInError('bad_request', 'This address does not take that kind of request', 'The browser used a method this page does not accept.',
        { status: 405, fix: 'Go to the home page.' });
    });
  }
  app.use(notFound);
  app.use(createErrorHandler(config, logger));

  return { handler: app, discovery, tokenService, close: () => sessions.store.close() };
}
