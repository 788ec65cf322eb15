// Development only: Microsoft's tenant-scoped URLs (discovery, authorize, token, keys, logout) mapped onto oidc-provider.
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type Provider from 'oidc-provider';

import { TENANT_DOMAIN, TENANT_ID } from './accounts.ts';
import { type FaultResponse, isTokenEndpointFault, tokenFaultResponse } from './faults.ts';
import { HANG, type KeyRing, discoveryFault, keySetResponse } from './key-faults.ts';
import { renderErrorPage } from './message-pages.ts';
import { AAD, aadDescription, microsoftErrorBody, newTraceInfo } from './microsoft-errors.ts';
import { PROVIDER_ROUTES, SESSION_COOKIE } from './provider-config.ts';
import { createTokenClientAuthenticator } from './client-authentication.ts';
import { type ResourceCatalogue, normalizeAuthorizationScopes } from './resources.ts';
import type { IdpClient, IdpFault, ReceivedTokenRequest } from './types.ts';

/** What the tenant router needs from the running provider. */
export interface MicrosoftPathsOptions {
  origin: string;
  provider: Provider;
  clients: readonly IdpClient[];
  /** Awaited before the token request is answered. */
  onTokenRequest(): Promise<void>;
  onJwksRequest(): void;
  faults(): readonly IdpFault[];
  recordSecret(value: unknown): void;
  /** Records a token request refused before oidc-provider (the client's credential). */
  recordTokenRequest(request: ReceivedTokenRequest): void;
  keyRing: KeyRing;
  catalogue: ResourceCatalogue;
}

const DISCOVERY_PATH = '/v2.0/.well-known/openid-configuration';
const PATH_PATTERN = /^\/([^/]+)(\/v2\.0\/\.well-known\/openid-configuration|\/oauth2\/v2\.0\/[^?]*|\/discovery\/v2\.0\/keys)$/;

/** True for the tenant segments the local provider serves: common, organizations, the tenant GUID or its domain. */
export function isKnownTenant(segment: string): boolean {
  return ['common', 'organizations', TENANT_ID, TENANT_DOMAIN].includes(segment.toLowerCase());
}

/** The discovery document Microsoft serves for a tenant segment, with endpoints under that same segment. */
export function discoveryDocument(origin: string, segment: string): Record<string, unknown> {
  const multiTenant = ['common', 'organizations'].includes(segment.toLowerCase());
  const base = `${origin}/${segment}`;
  const host = new URL(origin).host;
  return {
    token_endpoint: `${base}${PROVIDER_ROUTES.token}`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}${PROVIDER_ROUTES.jwks}`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: multiTenant ? `${origin}/{tenantid}/v2.0` : `${origin}/${TENANT_ID}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}${PROVIDER_ROUTES.authorization}`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}${PROVIDER_ROUTES.endSession}`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'nbf',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'oid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    code_challenge_methods_supported: ['S256'],
    tenant_region_scope: multiTenant ? null : 'NA',
    cloud_instance_name: host,
    cloud_graph_host_name: host,
    msgraph_host: host,
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function sendFault(res: Response, fault: FaultResponse): void {
  res
    .status(fault.status)
    .set({ 'Content-Type': fault.contentType, 'Cache-Control': 'no-store', ...fault.headers })
    .send(fault.body);
}

/** The redirect a consent error makes: back to the client with error=consent_required and the client's state. */
function consentRequiredRedirect(query: URLSearchParams): string | undefined {
  const redirectUri = query.get('redirect_uri');
  if (redirectUri === null || !URL.canParse(redirectUri)) return undefined;
  const target = new URL(redirectUri);
  target.searchParams.set('error', 'consent_required');
  target.searchParams.set('error_description', aadDescription(AAD.consentRequired(), newTraceInfo()));
  const state = query.get('state');
  if (state !== null) target.searchParams.set('state', state);
  return target.href;
}

function sendUnknownTenant(req: Request, res: Response, segment: string, rest: string): void {
  const aad = AAD.tenantNotFound(segment);
  const browserRoute = rest.startsWith(PROVIDER_ROUTES.authorization) || rest.startsWith(PROVIDER_ROUTES.endSession);
  if (browserRoute && req.method === 'GET') {
    res.status(400).type('html').set('Cache-Control', 'no-store').send(renderErrorPage(aad));
    return;
  }
  const error = rest === PROVIDER_ROUTES.token ? 'invalid_request' : 'invalid_tenant';
  res.status(400).set('Cache-Control', 'no-store').json(microsoftErrorBody(error, aad));
}

/**
 * Microsoft-compatible authorization parameters: scopes name their resources (Graph's may carry its
 * prefix), and the sign-in page is always shown (as login and consent in one step) unless prompt=none.
 */
function normalizeAuthorizationQuery(query: URLSearchParams, catalogue: ResourceCatalogue): void {
  normalizeAuthorizationScopes(query, catalogue);
  // oidc-provider drops offline_access unless prompt includes consent; Microsoft needs no such prompt.
  if (query.get('prompt') !== 'none') query.set('prompt', 'login consent');
}

/** Microsoft accepts post_logout_redirect_uri alone; oidc-provider needs the client, so name it when unambiguous. */
function normalizeLogoutQuery(query: URLSearchParams, clients: readonly IdpClient[]): void {
  const target = query.get('post_logout_redirect_uri');
  if (target === null || query.has('id_token_hint') || query.has('client_id')) return;
  const matching = clients.filter((client) =>
    (client.postLogoutRedirectUris ?? client.redirectUris.map((uri) => `${new URL(uri).origin}/`)).includes(target),
  );
  if (matching.length === 1 && matching[0] !== undefined) query.set('client_id', matching[0].clientId);
}

/**
 * Every interactive sign-in starts a fresh provider session, as Microsoft keeps several accounts
 * signed in side by side; with the old session oidc-provider would insert a logout step (an
 * auto-submitting form) whenever the account changes. prompt=none keeps the session for SSO.
 */
function dropSessionCookie(req: Request): void {
  const header = req.headers.cookie;
  if (header === undefined) return;
  req.headers.cookie = header
    .split(';')
    .filter((pair) => {
      const name = pair.slice(0, pair.indexOf('=')).trim();
      return name !== SESSION_COOKIE && name !== `${SESSION_COOKIE}.sig`;
    })
    .join(';');
}

async function clientIdOfTokenRequest(req: Request, res: Response): Promise<string | undefined> {
  await new Promise<void>((resolve, reject) => {
    express.urlencoded({ extended: false, limit: '64kb' })(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
  });
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body.client_id === 'string') return body.client_id;
  const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  return decodeURIComponent(decoded.slice(0, Math.max(0, decoded.indexOf(':'))));
}

/** Express router that serves discovery itself and hands the other tenant paths to oidc-provider. */
export function microsoftPathsRouter(options: MicrosoftPathsOptions): express.Router {
  const router = express.Router();
  const providerCallback = options.provider.callback();
  const authenticateTokenClient = createTokenClientAuthenticator(options);

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const match = PATH_PATTERN.exec(req.path);
    if (match?.[1] === undefined || match[2] === undefined) {
      next();
      return;
    }
    const segment = safeDecode(match[1]);
    const rest = match[2];
    try {
      const isTokenRequest = rest === PROVIDER_ROUTES.token && req.method === 'POST';
      if (isTokenRequest) await options.onTokenRequest();

      if (!isKnownTenant(segment)) {
        sendUnknownTenant(req, res, segment, rest);
        return;
      }
      const faults = options.faults();
      if (rest === DISCOVERY_PATH) {
        const document = discoveryFault(faults, discoveryDocument(options.origin, segment), options.origin, segment);
        if (document === HANG) return;
        if (typeof document.status === 'number' && typeof document.body === 'string') {
          sendFault(res, document as unknown as FaultResponse);
          return;
        }
        res.set('Cache-Control', 'max-age=86400, private').json(document);
        return;
      }
      if (rest === PROVIDER_ROUTES.jwks && req.method === 'GET') {
        options.onJwksRequest();
        const keySet = await keySetResponse(faults, options.keyRing);
        if (keySet !== HANG) sendFault(res, keySet);
        return;
      }

      const fault = faults.find(isTokenEndpointFault);
      if (isTokenRequest && (fault !== undefined || faults.includes('token-hang'))) {
        const clientId = await clientIdOfTokenRequest(req, res);
        const body = (req.body ?? {}) as Record<string, unknown>;
        for (const name of ['code_verifier', 'client_secret', 'refresh_token']) options.recordSecret(body[name]);
        if (fault === undefined) return; // token-hang: the connection stays open until the client gives up
        sendFault(res, tokenFaultResponse(fault, clientId, `${options.origin}/${match[1]}${rest}`));
        return;
      }
      // The client's secret, certificate assertion or federated assertion, checked as Entra does (a refusal is answered here).
      if (
        isTokenRequest &&
        (await authenticateTokenClient(req, res, { tenantSegment: match[1], tokenUrl: `${options.origin}/${match[1]}${rest}` }))
      ) {
        return;
      }
      if (req.method === 'GET' && rest === PROVIDER_ROUTES.authorization && faults.includes('authorize-consent-required')) {
        const queryStart = req.url.indexOf('?');
        const location = consentRequiredRedirect(new URLSearchParams(queryStart === -1 ? '' : req.url.slice(queryStart + 1)));
        if (location !== undefined) {
          res.redirect(302, location);
          return;
        }
      }

      const queryStart = req.url.indexOf('?');
      const query = new URLSearchParams(queryStart === -1 ? '' : req.url.slice(queryStart + 1));
      if (req.method === 'GET' && rest === PROVIDER_ROUTES.authorization) {
        normalizeAuthorizationQuery(query, options.catalogue);
        if (query.get('prompt') !== 'none') dropSessionCookie(req);
      }
      if (req.method === 'GET' && rest.startsWith(`${PROVIDER_ROUTES.authorization}/`)) dropSessionCookie(req);
      if (req.method === 'GET' && rest === PROVIDER_ROUTES.endSession) normalizeLogoutQuery(query, options.clients);
      const search = query.size > 0 ? `?${query.toString()}` : '';

      // oidc-provider derives its mount path from originalUrl minus url, so URLs it builds
      // (resume, logout confirmation) stay under the tenant segment the client used.
      req.url = `${rest}${search}`;
      req.originalUrl = `/${match[1]}${rest}${search}`;
      await providerCallback(req, res);
    } catch (error) {
      next(error);
    }
  });

  return router;
}
