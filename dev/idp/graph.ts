// Development only: a stand-in for Microsoft Graph (GET /v1.0/me, GET /oidc/userinfo) on the local identity provider.
import { randomUUID } from 'node:crypto';

import express from 'express';
import type { Request, Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

import { findAccountByObjectId } from './accounts.ts';
import type { SigningKey } from './keys.ts';

/** Resource indicator of Microsoft Graph. */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

/** Application id of Microsoft Graph; the `aud` of Graph access tokens. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Delegated Graph permissions known to the local provider (any other requested scope is accepted too). */
export const GRAPH_SCOPES = ['User.Read', 'User.ReadBasic.All', 'User.Read.All', 'Mail.Read', 'Calendars.Read', 'Files.Read'];

const ME_SCOPES = new Set([
  'User.Read',
  'User.ReadWrite',
  'User.ReadBasic.All',
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
]);

/** What the Graph stand-in needs to verify access tokens. */
export interface GraphOptions {
  origin: string;
  /** Issuer the provider writes into Graph access tokens. */
  accessTokenIssuer: string;
  signingKey: SigningKey;
  /** Reads an opaque access token (personal accounts get those from Graph); without it only JWTs are accepted. */
  readOpaqueToken?: (token: string) => Promise<JWTPayload | undefined>;
}

function sendGraphError(req: Request, res: Response, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const clientRequestId = req.get('client-request-id') ?? requestId;
  res.status(status).set({ 'request-id': requestId, 'client-request-id': clientRequestId, 'Cache-Control': 'no-store' });
  if (status === 401) {
    res.set('WWW-Authenticate', `Bearer realm="", client_id="${GRAPH_APP_ID}"`);
  }
  res.json({
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  });
}

async function verifyBearer(req: Request, res: Response, options: GraphOptions): Promise<JWTPayload | undefined> {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match?.[1] === undefined) {
    sendGraphError(req, res, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    return undefined;
  }
  if (!match[1].includes('.') && options.readOpaqueToken !== undefined) {
    const payload = await options.readOpaqueToken(match[1]);
    if (payload === undefined) sendGraphError(req, res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    return payload;
  }
  try {
    const { payload } = await jwtVerify(match[1], options.signingKey.publicKey, {
      algorithms: ['RS256'],
      audience: [GRAPH_APP_ID, GRAPH_RESOURCE],
      issuer: options.accessTokenIssuer,
    });
    return payload;
  } catch (error) {
    const message =
      error instanceof joseErrors.JWTExpired
        ? 'Lifetime validation failed, the token is expired.'
        : error instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'Signature validation failed.'
          : 'IDX14100: JWT is not well formed, or its audience or issuer is not Microsoft Graph.';
    sendGraphError(req, res, 401, 'InvalidAuthenticationToken', message);
    return undefined;
  }
}

/** Express router serving the Graph stand-in. */
export function graphRouter(options: GraphOptions): express.Router {
  const router = express.Router();

  router.get('/v1.0/me', async (req, res) => {
    const payload = await verifyBearer(req, res, options);
    if (payload === undefined) return;
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ') : [];
    if (!scopes.some((scope) => ME_SCOPES.has(scope))) {
      sendGraphError(req, res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      return;
    }
    const account = typeof payload.oid === 'string' ? findAccountByObjectId(payload.oid) : undefined;
    if (account === undefined) {
      sendGraphError(
        req,
        res,
        404,
        'Request_ResourceNotFound',
        "Resource 'me' does not exist or one of its queried reference-property objects are not present.",
      );
      return;
    }
    res
      .status(200)
      .set({ 'request-id': randomUUID(), 'client-request-id': req.get('client-request-id') ?? randomUUID(), 'Cache-Control': 'no-store' })
      .json({
        '@odata.context': `${options.origin}/v1.0/$metadata#users/$entity`,
        id: account.objectId,
        displayName: account.displayName,
        givenName: account.givenName,
        surname: account.surname,
        jobTitle: account.jobTitle,
        mail: account.username,
        userPrincipalName: account.username,
        businessPhones: [],
        officeLocation: null,
        preferredLanguage: 'en-US',
        mobilePhone: null,
      });
  });

  router.get('/oidc/userinfo', async (req, res) => {
    const payload = await verifyBearer(req, res, options);
    if (payload === undefined) return;
    const account = typeof payload.oid === 'string' ? findAccountByObjectId(payload.oid) : undefined;
    if (account === undefined) {
      sendGraphError(req, res, 401, 'InvalidAuthenticationToken', 'The user of this token does not exist.');
      return;
    }
    res.set('Cache-Control', 'no-store').json({
      sub: payload.sub,
      name: account.displayName,
      family_name: account.surname,
      given_name: account.givenName,
      email: account.username,
    });
  });

  return router;
}
