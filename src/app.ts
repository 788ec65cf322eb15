import path from 'node:path';
import express from 'express';
import type { Config } from './config.ts';
import type { StoreDatabase } from './db/database.ts';
import type { AppLogger } from './log.ts';
import type { Discovery } from './auth/discovery.ts';
import { createSignInRateLimit, rejectLongUrls, rejectNonPathTargets } from './web/request-limits.ts';
import { DatabaseRateLimitStore } from './db/rate-limit-store.ts';
import { isPostgresUrl } from './db/database-url.ts';
import { createConnectRoute } from './web/connect-route.ts';
import { createCallbackRoute } from './web/callback-route.ts';
import { createSessionMiddleware, sessionCookieName } from './sessions/session-middleware.ts';
import { createSignedInRead } from './sessions/signed-in-read.ts';
import { createHomeRoute } from './web/home-route.ts';
import { createForgetRoute, createLogoutRoute } from './web/sign-out-routes.ts';
import { createRefreshRoute } from './web/refresh-route.ts';
import { createGraphCheckRoute } from './web/graph-check-route.ts';
import { createAdminConsentRoute, createResourceSignInRoute, createResourceTokenRoute } from './web/resource-routes.ts';
import type { TokenService } from './tokens/token-service.ts';
import type { ResourceTokenService } from './tokens/resource-token-service.ts';
import { composeServices } from './composition-root.ts';
import { createErrorHandler, methodNotAllowed, notFound } from './web/error-handler.ts';
import { servePublicFiles } from './web/public-files.ts';
import { securityHeadersMiddleware } from './web/security-headers.ts';
import { inOneLayer } from './web/one-layer.ts';
import { createReadyz, healthz } from './web/health-routes.ts';
import { createRequestLog } from './web/request-log.ts';
import { renderViewForExpress, VIEWS_DIRECTORY } from './web/view-engine.ts';
import { describeClientCredential } from './auth/client-credential.ts';
import { PROJECT_ROOT } from './project-root.ts';

export interface AppDependencies {
  database: StoreDatabase;
  logger: AppLogger;
  /** Defaults to discovery over HTTP from the configured authority. */
  discovery?: Discovery;
  /** The clock for pending sign-ins, sessions, key caching, token expiry and refresh; tests move it. Defaults to Date.now. */
  now?: () => number;
}

export interface App {
  handler: express.Express;
  discovery: Discovery;
  tokenService: TokenService;
  resourceTokenService: ResourceTokenService;
  /** Stops background timers (the purges of expired sessions and rate-limit counters). */
  close(): void;
}

/** Builds the whole app from its configuration; no module-level state, so tests build their own. */
export function createApp(config: Config, dependencies: AppDependencies): App {
  const { database, logger, now = Date.now } = dependencies;
  const { cipher, discovery, verifier, tokenStore, tokenService, resourceTokenStore, resourceTokenService } = composeServices(
    config,
    database,
    logger,
    {
      now,
      discovery: dependencies.discovery,
    },
  );
  // The session row is read with the signed-in user's tokens in one query: the home page needs no second read, and
  // opens the same stored tokens again only when they changed (the services' cipher remembers them).
  const signedInRead = createSignedInRead(database.sql, cipher);
  const sessions = createSessionMiddleware(config, database.sql, logger, now, signedInRead);
  const cookieName = sessionCookieName(config);
  // On PostgreSQL several instances share one count; SQLite serves one instance, whose memory spares a write per sign-in step.
  const rateLimitStore = isPostgresUrl(config.databaseUrl)
    ? new DatabaseRateLimitStore(database.sql, { prefix: 'sign-in:', logger, now })
    : undefined;

  const app = express();
  app.disable('x-powered-by');
  app.engine('ejs', renderViewForExpress);
  app.set('view engine', 'ejs');
  app.set('views', VIEWS_DIRECTORY);
  // Templates do not change while the app runs: compile each once, whatever NODE_ENV says.
  app.set('view cache', true);
  app.set('query parser', 'simple');
  // Pages are no-store (tokens on them), so an ETag is never used; computing one hashes every page body.
  app.set('etag', false);
  // Every page's footer names the instance that served it (several may run behind one URL).
  app.locals.instanceName = config.instanceName;
  // The signed-in page's footer names the credential the app signs in to Microsoft with (never the secret itself).
  app.locals.clientCredential = describeClientCredential(config.clientCredential);
  if (config.trustProxy !== false) app.set('trust proxy', config.trustProxy);

  app.use(
    inOneLayer(
      createRequestLog(logger, { trustIncomingId: config.trustProxy !== false }),
      // One set of security headers, from helmet: on every page here and on the pages the HTTP server answers itself.
      securityHeadersMiddleware(app, config),
      rejectLongUrls,
      rejectNonPathTargets,
    ),
  );
  app.get('/healthz', healthz);
  app.get('/readyz', createReadyz(database.sql, discovery));
  app.use('/connect', createSignInRateLimit(config, logger, rateLimitStore));
  app.use(servePublicFiles(path.join(PROJECT_ROOT, 'public')));
  app.use(sessions.middleware);

  // Only the forms read a body; a GET never parses one. Each path answers any other method with 405 and Allow.
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });
  const page = (route: string, handler: express.RequestHandler) => app.route(route).get(handler).all(methodNotAllowed('GET, HEAD'));
  const action = (route: string, handler: express.RequestHandler) => app.route(route).post(form, handler).all(methodNotAllowed('POST'));
  page('/', createHomeRoute(config, { tokenStore, tokenService, resourceTokenStore }, now));
  page('/connect', createConnectRoute(config, discovery, now));
  page(
    '/connect/get_token',
    createCallbackRoute({ config, discovery, verifier, tokenStore, resourceTokenStore, database: database.sql, logger, now }),
  );
  action('/refresh', createRefreshRoute(tokenService));
  action('/graph-check', createGraphCheckRoute(config, tokenService));
  action('/resources', createResourceTokenRoute(resourceTokenService));
  action('/resources/sign-in', createResourceSignInRoute(config, discovery, tokenStore, now));
  action('/resources/admin-consent', createAdminConsentRoute(config, tokenStore, now));
  action('/logout', createLogoutRoute(config, discovery, tokenStore, cookieName));
  action('/forget', createForgetRoute(config, tokenStore, cookieName));
  app.use(notFound);
  app.use(createErrorHandler(config, logger));

  return {
    handler: app,
    discovery,
    tokenService,
    resourceTokenService,
    close: () => {
      sessions.store.close();
      rateLimitStore?.shutdown();
    },
  };
}
