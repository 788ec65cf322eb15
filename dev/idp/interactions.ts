// Development only: the sign-in interaction of the local identity provider (GET shows the page, POST signs in or cancels).
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type Provider from 'oidc-provider';

import { TEST_ACCOUNTS, checkCredentials, subjectOf } from './accounts.ts';
import { GRAPH_RESOURCE } from './graph.ts';
import { renderSignInPage } from './login-page.ts';
import { renderErrorPage } from './message-pages.ts';
import { AAD, aadDescription, newTraceInfo } from './microsoft-errors.ts';
import { OIDC_SCOPES } from './provider-config.ts';

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
 * to the ID token, the rest (and the OpenID ones Graph tokens list in `scp`) to Microsoft Graph.
 */
async function grantRequestedScopes(provider: Provider, interaction: Interaction, accountId: string): Promise<string> {
  const clientId = stringParam(interaction.params.client_id) ?? '';
  const scopes = requestedScopes(interaction);
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(scopes.filter((scope) => OIDC_SCOPES.has(scope)));
  grant.addResourceScope(
    GRAPH_RESOURCE,
    scopes.filter((scope) => scope !== 'offline_access'),
  );
  const details = interaction.prompt.details as { missingOIDCClaims?: string[] };
  if (details.missingOIDCClaims !== undefined) grant.addOIDCClaims(details.missingOIDCClaims);
  return grant.save();
}

/** Express router for /interaction/:uid. */
export function interactionRouter(provider: Provider): express.Router {
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

      const accountId = subjectOf(account);
      const grantId = await grantRequestedScopes(provider, interaction, accountId);
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId, amr: ['pwd'] }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      next(error);
    }
  });

  return router;
}
