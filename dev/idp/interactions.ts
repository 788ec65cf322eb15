// Development only: the sign-in interaction of the local identity provider (GET shows the page, POST signs in or cancels).
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type Provider from 'oidc-provider';

import { TEST_ACCOUNTS, checkCredentials, isPersonalAccount, subjectOf } from './accounts.ts';
import type { ConsentStore } from './consent-store.ts';
import { GRAPH_RESOURCE } from './graph.ts';
import { renderSignInPage } from './login-page.ts';
import { MFA_METHOD, answersMfaChallenge } from './mfa-challenge.ts';
import { renderErrorPage } from './message-pages.ts';
import { AAD, aadDescription, newTraceInfo } from './microsoft-errors.ts';
import { signInRefusal, tenantSegmentOf } from './personal-accounts.ts';
import { DEFAULT_PERMISSION, type ResourceCatalogue, parseScopes, qualifiedScope } from './resources.ts';
import type { TestAccount } from './types.ts';

/** What signing in records besides the session: the resources and who consented to what. */
export interface InteractionSettings {
  catalogue: ResourceCatalogue;
  consent: ConsentStore;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

function requestedScopes(interaction: Interaction): string[] {
  const scope = interaction.params.scope;
  return typeof scope === 'string' ? scope.split(' ').filter((value) => value !== '') : [];
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Loads the interaction named in the URL, or answers with an error page when it is unknown or expired. */
async function loadInteraction(provider: Provider, req: Request, res: Response): Promise<Interaction | undefined> {
  try {
    const interaction = await provider.interactionDetails(req, res);
    if (interaction.uid === req.params.uid) return interaction;
  } catch {
    // Unknown, expired or cookie-less interaction: fall through to the error page.
  }
  res.status(400).type('html').set('Cache-Control', 'no-store').send(renderErrorPage(AAD.sessionNotFound()));
  return undefined;
}

function showPage(res: Response, interaction: Interaction, status: number, email?: string, error?: string): void {
  res
    .status(status)
    .type('html')
    .set('Cache-Control', 'no-store')
    .send(
      renderSignInPage({
        uid: interaction.uid,
        clientId: stringParam(interaction.params.client_id) ?? '',
        scopes: requestedScopes(interaction),
        accounts: TEST_ACCOUNTS,
        email: email ?? stringParam(interaction.params.login_hint),
        error,
      }),
    );
}

/**
 * Signing in finishes login and consent in one step, granting every requested scope: OpenID scopes
 * to the ID token, Graph permissions (and the OpenID ones Graph tokens list in `scp`) to Microsoft
 * Graph, another resource's permissions to it; the account's consent is recorded for later refreshes.
 */
async function grantRequestedScopes(
  provider: Provider,
  interaction: Interaction,
  account: TestAccount,
  settings: InteractionSettings,
): Promise<string> {
  const clientId = stringParam(interaction.params.client_id) ?? '';
  const request = parseScopes(requestedScopes(interaction).join(' '), settings.catalogue);
  const grant = new provider.Grant({ accountId: subjectOf(account), clientId });
  grant.addOIDCScope(request.oidc);
  const graphPermissions = request.permissions.get(GRAPH_RESOURCE) ?? [];
  const others = [...request.permissions].filter(([resource]) => resource !== GRAPH_RESOURCE);
  if (graphPermissions.length > 0 || others.length === 0) {
    grant.addResourceScope(GRAPH_RESOURCE, [...request.oidc.filter((scope) => scope !== 'offline_access'), ...graphPermissions]);
    settings.consent.recordInteractiveConsent(account.objectId, clientId, GRAPH_RESOURCE, graphPermissions);
  }
  for (const [resource, permissions] of others) {
    const granted = permissions.includes(DEFAULT_PERMISSION) ? (settings.catalogue.find(resource)?.scopes ?? []) : permissions;
    grant.addResourceScope(
      resource,
      granted.map((permission) => qualifiedScope(resource, permission)),
    );
    settings.consent.recordInteractiveConsent(account.objectId, clientId, resource, granted);
  }
  const details = interaction.prompt.details as { missingOIDCClaims?: string[] };
  if (details.missingOIDCClaims !== undefined) grant.addOIDCClaims(details.missingOIDCClaims);
  return grant.save();
}

/** True when a personal account asks for a resource Microsoft serves to work accounts only (ARM, SharePoint …). */
function asksForWorkOnlyResource(interaction: Interaction, account: TestAccount, catalogue: ResourceCatalogue): boolean {
  if (!isPersonalAccount(account)) return false;
  const request = parseScopes(requestedScopes(interaction).join(' '), catalogue);
  return [...request.permissions.keys()].some((resource) => catalogue.find(resource)?.workAccountsOnly === true);
}

/** Express router for /interaction/:uid. */
export function interactionRouter(provider: Provider, settings: InteractionSettings): express.Router {
  const router = express.Router();

  router.get('/interaction/:uid', async (req, res, next: NextFunction) => {
    try {
      const interaction = await loadInteraction(provider, req, res);
      if (interaction !== undefined) showPage(res, interaction, 200);
    } catch (error) {
      next(error);
    }
  });

  router.post('/interaction/:uid', express.urlencoded({ extended: false, limit: '16kb' }), async (req, res, next: NextFunction) => {
    try {
      const interaction = await loadInteraction(provider, req, res);
      if (interaction === undefined) return;
      const body = (req.body ?? {}) as Record<string, unknown>;

      if (body.action === 'cancel' || body.cancel !== undefined) {
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: aadDescription(AAD.userDeclined(), newTraceInfo()) },
          { mergeWithLastSubmission: false },
        );
        return;
      }

      const email = stringParam(body.email) ?? '';
      const account = checkCredentials(email, stringParam(body.password) ?? '');
      if (account === undefined) {
        const aad = AAD.invalidCredentials();
        showPage(res, interaction, 200, email, `AADSTS${aad.code}: ${aad.text} Check the email address and password and try again.`);
        return;
      }

      const refusal = signInRefusal(account, tenantSegmentOf(interaction.returnTo), stringParam(interaction.params.client_id) ?? '');
      if (refusal !== undefined) {
        showPage(res, interaction, 200, email, refusal);
        return;
      }
      if (asksForWorkOnlyResource(interaction, account, settings.catalogue)) {
        // What a personal account gets for Azure Resource Manager (AzureAD/microsoft-identity-web#651).
        const aad = AAD.scopeDoesNotExist(requestedScopes(interaction).join(' '));
        await provider.interactionFinished(
          req,
          res,
          { error: 'invalid_scope', error_description: aadDescription(aad, newTraceInfo()) },
          { mergeWithLastSubmission: false },
        );
        return;
      }

      const accountId = subjectOf(account);
      const grantId = await grantRequestedScopes(provider, interaction, account, settings);
      // A sign-in that passes the claims challenge back stands for the multifactor authentication it asked for.
      const amr = answersMfaChallenge(interaction.params.claims) ? ['pwd', MFA_METHOD] : ['pwd'];
      await provider.interactionFinished(req, res, { login: { accountId, amr }, consent: { grantId } }, { mergeWithLastSubmission: false });
    } catch (error) {
      next(error);
    }
  });

  return router;
}
