// Development only: public API of the local Microsoft-compatible identity provider (demo and tests; never started by `npm start`).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import type { NextFunction, Request, Response } from 'express';

import { TENANT_ID, TEST_ACCOUNTS } from './accounts.ts';
import { adminConsentRouter } from './admin-consent.ts';
import { createConsentStore } from './consent-store.ts';
import { graphRouter } from './graph.ts';
import { interactionRouter } from './interactions.ts';
import { generateSigningKey } from './keys.ts';
import { renderErrorPage } from './message-pages.ts';
import { AAD } from './microsoft-errors.ts';
import { microsoftPathsRouter } from './microsoft-paths.ts';
import { opaqueGraphTokenReader, reissuePersonalIdToken } from './personal-accounts.ts';
import { createProvider, issuerFor } from './provider-config.ts';
import { createResourceGrants } from './resource-grants.ts';
import { DEFAULT_IDP_RESOURCES, createResourceCatalogue } from './resources.ts';
import { shapeAuthorizationRedirects, shapeTokenResponses } from './response-shaping.ts';
import type { AdminConsentRecord, IdpFault, ReceivedTokenRequest, StartIdpOptions, StartedIdp } from './types.ts';

/** Public types of the local identity provider. */
export type {
  AdminConsentRecord,
  FederatedCredential,
  IdpClient,
  IdpFault,
  IdpResource,
  ReceivedTokenRequest,
  StartIdpOptions,
  StartedIdp,
  TestAccount,
} from './types.ts';
/** The resources besides Graph that the provider serves when StartIdpOptions.resources is omitted. */
export { DEFAULT_IDP_RESOURCES } from './resources.ts';

const DEFAULT_PORT = 5001;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
/** The app's name in Microsoft's texts (AADSTS65001, the admin-consent page). */
const APP_NAME = 'o365-signin';

function originFor(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the local identity provider; resolves once it accepts connections. */
export async function startIdentityProvider(options: StartIdpOptions): Promise<StartedIdp> {
  const host = options.host ?? DEFAULT_HOST;
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const catalogue = createResourceCatalogue(options.resources ?? DEFAULT_IDP_RESOURCES);
  const consent = createConsentStore(catalogue);
  const resourceGrants = createResourceGrants({ catalogue, consent, appName: APP_NAME });
  const adminConsents: AdminConsentRecord[] = [];
  const [signingKey, unpublishedKey, rolledKey, otherTenantKey, homeTenantKey, noIssuerKey, encryptionKey, otherAlgorithmKey] =
    await Promise.all([
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
      generateSigningKey(),
    ]);

  const server = http.createServer();
  const port = await listen(server, options.port ?? DEFAULT_PORT, host);
  const origin = originFor(host, port);
  const accessTokenIssuer = `${origin}/${TENANT_ID}/`;

  const issuedAccessTokens: string[] = [];
  const issuedSecrets: string[] = [];
  const genuineIdTokens: string[] = [];
  const tokenRequests: ReceivedTokenRequest[] = [];
  let tokenRequestCount = 0;
  let jwksRequests = 0;
  let requests = 0;
  let faults: readonly IdpFault[] = [];
  let tokenRequestHook: (() => unknown) | null = null;
  const recordSecret = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 8) issuedSecrets.push(value);
  };
  for (const client of options.clients) recordSecret(client.clientSecret);
  const recordTokenRequest = (request: ReceivedTokenRequest): void => {
    tokenRequests.push(request);
    options.onTokenRequestRecorded?.(request);
  };
  const keyRing = {
    origin,
    publishedKey: signingKey,
    rolledKey,
    otherTenantKey,
    homeTenantKey,
    noIssuerKey,
    encryptionKey,
    otherAlgorithmKey,
  };

  const provider = createProvider({
    issuer: issuerFor(origin),
    accessTokenIssuer,
    clients: options.clients,
    signingKey,
    accessTokenTtlSeconds,
    catalogue,
    wrapGrantHandler: resourceGrants.wrapGrantHandler,
  });
  shapeAuthorizationRedirects(provider, recordSecret);
  shapeTokenResponses(provider, {
    faults: () => faults,
    recordAccessToken: (token) => issuedAccessTokens.push(token),
    recordIdToken: (token) => genuineIdTokens.push(token),
    recordTokenRequest,
    recordSecret,
    keyRing,
    resourceOf: resourceGrants.resourceOf,
    reissueIdToken: (idToken) => reissuePersonalIdToken(idToken, origin, signingKey),
    faultContext: {
      publishedKey: signingKey,
      unpublishedKey,
      origin,
      clientSecretOf: (clientId) => options.clients.find((client) => client.clientId === clientId)?.clientSecret,
      previousIdToken: () => genuineIdTokens.at(-1),
    },
  });

  const app = express();
  app.disable('x-powered-by');
  app.use((_req: Request, _res: Response, next: NextFunction) => {
    requests += 1;
    next();
  });
  app.use(
    microsoftPathsRouter({
      origin,
      provider,
      clients: options.clients,
      onTokenRequest: async () => {
        tokenRequestCount += 1;
        await tokenRequestHook?.();
      },
      onJwksRequest: () => {
        jwksRequests += 1;
      },
      faults: () => faults,
      recordSecret,
      recordTokenRequest,
      keyRing,
      catalogue,
    }),
  );
  app.use(interactionRouter(provider, { catalogue, consent }));
  app.use(
    adminConsentRouter({
      clients: options.clients,
      catalogue,
      consent,
      appName: APP_NAME,
      recordAdminConsent: (record) => adminConsents.push(record),
    }),
  );
  app.use(graphRouter({ origin, accessTokenIssuer, signingKey, readOpaqueToken: opaqueGraphTokenReader(provider) }));
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', error_description: 'The local identity provider does not serve this path.' });
  });
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(500).type('html').send(renderErrorPage(AAD.serviceError()));
  });
  server.on('request', app);

  let closing: Promise<void> | undefined;
  return {
    origin,
    graphBaseUrl: origin,
    tenantId: TENANT_ID,
    accounts: TEST_ACCOUNTS,
    issuedAccessTokens,
    issuedSecrets,
    tokenRequests,
    tokenRequestCount: () => tokenRequestCount,
    jwksRequestCount: () => jwksRequests,
    requestCount: () => requests,
    setTokenRequestHook(hook) {
      tokenRequestHook = hook;
    },
    refreshTokenReuseCount: resourceGrants.refreshTokenReuseCount,
    adminConsents,
    setResourceConsent: (identifier, mode) => consent.setResourceConsent(identifier, mode),
    revokeConsent: (objectId) => consent.revokeInteractiveConsent(objectId),
    setFault(next) {
      faults = next === null ? [] : typeof next === 'string' ? [next as IdpFault] : [...(next as readonly IdpFault[])];
    },
    closeIdleConnections() {
      server.closeIdleConnections();
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
