// Development only: Microsoft's admin-consent endpoint (GET /{tenant}/v2.0/adminconsent), its sign-in page and its answers.
import { randomBytes } from 'node:crypto';

import express from 'express';
import type { NextFunction, Request, Response } from 'express';

import { TEST_ACCOUNTS, TEST_PASSWORD, TENANT_ID, checkCredentials, isPersonalAccount, isTenantAdministrator } from './accounts.ts';
import type { ConsentStore } from './consent-store.ts';
import { GRAPH_RESOURCE, GRAPH_SCOPES } from './graph.ts';
import { escapeHtml, page } from './html.ts';
import { renderErrorPage } from './message-pages.ts';
import { AAD, type AadError, aadDescription, errorUriFor, newTraceInfo } from './microsoft-errors.ts';
import { isKnownTenant } from './microsoft-paths.ts';
import { DEFAULT_PERMISSION, type ResourceCatalogue, parseScopes } from './resources.ts';
import type { AdminConsentRecord, IdpClient } from './types.ts';

/** What the admin-consent endpoint needs from the running provider. */
export interface AdminConsentSettings {
  clients: readonly IdpClient[];
  catalogue: ResourceCatalogue;
  consent: ConsentStore;
  /** The app's name on the pages. */
  appName: string;
  recordAdminConsent(record: AdminConsentRecord): void;
}

interface PendingConsent {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  scope: string;
  /** Resource identifier → permissions to grant tenant-wide. */
  permissions: Map<string, string[]>;
  expiresAt: number;
}

const PENDING_TTL_MS = 10 * 60 * 1000;
const MAX_PENDING = 1000;

/** Path of the pending admin consent's page; its form posts back to the same path. */
function consentPath(id: string): string {
  return `/adminconsent/${encodeURIComponent(id)}`;
}

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function sendErrorPage(res: Response, status: number, aad: AadError): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(renderErrorPage(aad));
}

/**
 * An error answer of the admin-consent endpoint: "admin_consent … Will be set to True to indicate
 * that this response occurred on an admin consent flow", and no `tenant` on errors
 * (learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent; MicrosoftDocs/azure-docs#114009).
 */
function errorRedirect(redirectUri: string, state: string | undefined, error: string, aad: AadError): string {
  const target = new URL(redirectUri);
  target.searchParams.set('error', error);
  target.searchParams.set('error_description', aadDescription(aad, newTraceInfo()));
  target.searchParams.set('error_uri', errorUriFor(aad.code));
  target.searchParams.set('admin_consent', 'True');
  if (state !== undefined) target.searchParams.set('state', state);
  return target.href;
}

/** The success answer: `admin_consent=True&tenant=<GUID>&scope=<as sent>&state=…` (v2-admin-consent, "Successful response"). */
function successRedirect(pending: PendingConsent): string {
  const target = new URL(pending.redirectUri);
  target.searchParams.set('admin_consent', 'True');
  target.searchParams.set('tenant', TENANT_ID);
  target.searchParams.set('scope', pending.scope);
  if (pending.state !== undefined) target.searchParams.set('state', pending.state);
  return target.href;
}

/** Every permission a scope list asks an admin for, per resource; `.default` stands for all of a resource's. */
function permissionsToGrant(permissions: Map<string, string[]>, catalogue: ResourceCatalogue): Map<string, string[]> {
  const granted = new Map<string, string[]>();
  for (const [resource, names] of permissions) {
    const all = resource === GRAPH_RESOURCE ? GRAPH_SCOPES : (catalogue.find(resource)?.scopes ?? []);
    granted.set(resource, names.includes(DEFAULT_PERMISSION) ? [...all] : names);
  }
  return granted;
}

function renderConsentPage(id: string, pending: PendingConsent, appName: string, email = '', error?: string): string {
  const permissions = [...pending.permissions]
    .flatMap(([resource, names]) =>
      names.map((name) => `<li><code>${escapeHtml(name)}</code> on <code>${escapeHtml(resource)}</code></li>`),
    )
    .join('\n');
  const accounts = TEST_ACCOUNTS.map(
    (account) =>
      `<tr><td><code>${escapeHtml(account.username)}</code></td><td>${isTenantAdministrator(account) ? 'Global Administrator' : escapeHtml(account.jobTitle)}</td></tr>`,
  ).join('\n');
  const alert = error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  return page(
    'Permissions requested — accept for your organization — local Microsoft identity provider (development only)',
    `<h1>Permissions requested</h1>
<p><strong>${escapeHtml(appName)}</strong> (<code>${escapeHtml(pending.clientId)}</code>) wants these permissions for every user of your organization:</p>
<ul>
${permissions}
</ul>
${alert}
<form method="post" action="${escapeHtml(consentPath(id))}">
<label for="email">Administrator email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="action" value="accept" class="primary">Accept for your organization</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>
<p>Only a Global Administrator of the tenant can accept. Every account uses the password <code>${escapeHtml(TEST_PASSWORD)}</code>.</p>
<table>
<thead><tr><th>Email</th><th>Role</th></tr></thead>
<tbody>
${accounts}
</tbody>
</table>`,
  );
}

/** Microsoft's "Need admin approval" page for a user who is no administrator, with its two ways on. */
function renderNeedAdminApprovalPage(id: string, appName: string): string {
  const aad = AAD.adminConsentRequired();
  return page(
    'Need admin approval — local Microsoft identity provider (development only)',
    `<h1>Need admin approval</h1>
<p>${escapeHtml(appName)} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
<p class="error" role="alert">AADSTS${aad.code}: ${escapeHtml(aad.text)}</p>
<p><a href="${escapeHtml(consentPath(id))}">Have an admin account? Sign in with that account</a></p>
<form method="post" action="${escapeHtml(consentPath(id))}">
<button type="submit" name="action" value="cancel">Return to the application without granting consent</button>
</form>`,
  );
}

/** Express router for GET /{tenant}/v2.0/adminconsent and the page it shows (/adminconsent/{id}). */
export function adminConsentRouter(settings: AdminConsentSettings): express.Router {
  const router = express.Router();
  const pending = new Map<string, PendingConsent>();

  const takePending = (id: string): PendingConsent | undefined => {
    const entry = pending.get(id);
    if (entry !== undefined && entry.expiresAt > Date.now()) return entry;
    pending.delete(id);
    return undefined;
  };
  const remember = (entry: PendingConsent): string => {
    if (pending.size >= MAX_PENDING) {
      for (const [key, value] of pending) if (value.expiresAt <= Date.now()) pending.delete(key);
      if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value ?? '');
    }
    const id = randomBytes(16).toString('base64url');
    pending.set(id, entry);
    return id;
  };

  router.get('/:tenant/v2.0/adminconsent', (req: Request, res: Response) => {
    const tenant = String(req.params.tenant).toLowerCase();
    const clientId = queryString(req.query.client_id);
    const redirectUri = queryString(req.query.redirect_uri);
    const state = queryString(req.query.state);
    const scope = queryString(req.query.scope);
    const generic = tenant === 'common' || tenant === 'consumers';
    if (!generic && !isKnownTenant(tenant)) return sendErrorPage(res, 400, AAD.tenantNotFound(String(req.params.tenant)));
    if (clientId === undefined || clientId === '') return sendErrorPage(res, 400, AAD.missingParameter('client_id'));
    const client = settings.clients.find((candidate) => candidate.clientId === clientId);
    if (client === undefined) return sendErrorPage(res, 400, AAD.applicationNotFound(clientId));
    // The redirect URI must be registered before anything is sent to it.
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      return sendErrorPage(res, 400, AAD.redirectUriMismatch(redirectUri ?? '', clientId));
    }
    res.set('Cache-Control', 'no-store');
    // "Do not use 'common', as personal accounts cannot provide admin consent except in the context of a tenant" (v2-admin-consent).
    if (generic) return res.redirect(302, errorRedirect(redirectUri, state, 'invalid_request', AAD.adminConsentNeedsTenant()));
    if (scope === undefined || scope.trim() === '') {
      return res.redirect(302, errorRedirect(redirectUri, state, 'invalid_request', AAD.missingParameter('scope')));
    }
    const request = parseScopes(scope, settings.catalogue);
    if (request.unknown.length > 0 || request.permissions.size === 0) {
      return res.redirect(302, errorRedirect(redirectUri, state, 'invalid_scope', AAD.scopeNotValid(scope)));
    }
    const entry: PendingConsent = {
      clientId,
      redirectUri,
      state,
      scope,
      permissions: permissionsToGrant(request.permissions, settings.catalogue),
      expiresAt: Date.now() + PENDING_TTL_MS,
    };
    const id = remember(entry);
    return res
      .status(200)
      .type('html')
      .send(renderConsentPage(id, entry, settings.appName));
  });

  router.get('/adminconsent/:id', (req: Request, res: Response) => {
    const id = String(req.params.id);
    const entry = takePending(id);
    if (entry === undefined) return sendErrorPage(res, 400, AAD.sessionNotFound());
    return res
      .status(200)
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(renderConsentPage(id, entry, settings.appName));
  });

  router.post(
    '/adminconsent/:id',
    express.urlencoded({ extended: false, limit: '16kb' }),
    (req: Request, res: Response, next: NextFunction) => {
      try {
        const id = String(req.params.id);
        const entry = takePending(id);
        if (entry === undefined) return sendErrorPage(res, 400, AAD.sessionNotFound());
        res.set('Cache-Control', 'no-store');
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (body.action === 'cancel') {
          pending.delete(id);
          return res.redirect(302, errorRedirect(entry.redirectUri, entry.state, 'access_denied', AAD.userDeclined()));
        }
        const email = typeof body.email === 'string' ? body.email : '';
        const account = checkCredentials(email, typeof body.password === 'string' ? body.password : '');
        if (account === undefined) {
          const aad = AAD.invalidCredentials();
          return res
            .status(200)
            .type('html')
            .send(renderConsentPage(id, entry, settings.appName, email, `AADSTS${aad.code}: ${aad.text}`));
        }
        if (isPersonalAccount(account)) {
          // A personal account belongs to no tenant (MicrosoftDocs/azure-docs#114009 shows this answer for a wrong-tenant user).
          pending.delete(id);
          return res.redirect(
            302,
            errorRedirect(entry.redirectUri, entry.state, 'access_denied', AAD.userNotInTenant(account.username, entry.clientId)),
          );
        }
        if (!isTenantAdministrator(account)) return res.status(403).type('html').send(renderNeedAdminApprovalPage(id, settings.appName));

        pending.delete(id);
        for (const [resource, permissions] of entry.permissions) settings.consent.recordAdminConsent(entry.clientId, resource, permissions);
        settings.recordAdminConsent({ tenant: TENANT_ID, clientId: entry.clientId, scope: entry.scope });
        return res.redirect(302, successRedirect(entry));
      } catch (error) {
        return next(error);
      }
    },
  );

  return router;
}
