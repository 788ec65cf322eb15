import type { Request, Response } from 'express';
import { takeAdminConsentLink, takePendingAdminConsent } from '../auth/admin-consent.ts';
import type { AdminConsentRequest } from '../auth/admin-consent.ts';
import { PENDING_SIGN_IN_MS } from '../auth/pending-sign-ins.ts';
import type { SqlDatabase } from '../db/sql.ts';
import { AppError, invalidCallback, providerDetails } from '../errors.ts';
import { saveSession } from '../sessions/session-lifecycle.ts';
import { csrfTokenFor } from './csrf.ts';

/** The value of a parameter that appears exactly once; repeated or absent gives undefined. */
function singleParameter(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/** Microsoft marks admin-consent answers with `admin_consent` (on errors too); a state of this browser's admin consent is one. */
export function isAdminConsentAnswer(req: Request, query: URLSearchParams, state: string): boolean {
  return query.has('admin_consent') || takePendingAdminConsent(req.session?.pendingAdminConsents, state).consent !== undefined;
}

/**
 * The answer of Microsoft's admin-consent page on the redirect URI: `admin_consent=True&tenant&scope&state`, or `error`
 * (learn.microsoft.com/entra/identity-platform/v2-admin-consent). Its state must be one this app issued and not used
 * yet: from this browser's session (started on the page, S58 as S1–S7), or a link `npm run token` printed, kept in the
 * database for an administrator's own browser. The answer's `tenant` and `scope` are never used ("Never use the tenant ID
 * value of the tenant parameter to authenticate or authorize users"): the page names what the app asked for. Nobody is
 * signed in by it and nothing is stored; the token is got afterwards, by the person, as any other.
 */
export function createAdminConsentAnswer(database: SqlDatabase, now: () => number) {
  return async (req: Request, res: Response, query: URLSearchParams, state: string): Promise<void> => {
    const fromSession = takePendingAdminConsent(req.session?.pendingAdminConsents, state);
    let request: AdminConsentRequest | undefined;
    let fromLink = false;
    if (fromSession.consent !== undefined) {
      // Consumed before anything else: the same answer twice is refused.
      req.session.pendingAdminConsents = fromSession.remaining;
      if (fromSession.remaining.length === 0) req.session.pendingAdminConsents = undefined;
      await saveSession(req);
      if (now() - fromSession.consent.createdAt > PENDING_SIGN_IN_MS) throw invalidCallback('pending admin consent expired');
      request = { userId: req.session.userId ?? '', tenantId: fromSession.consent.tenantId, scopes: fromSession.consent.scopes };
    } else {
      request = await takeAdminConsentLink(database, state, new Date(now()));
      if (request === undefined) throw invalidCallback('state matches no admin consent of this browser and no printed link');
      fromLink = true;
    }

    const error = singleParameter(query, 'error');
    if (error !== undefined || query.has('error')) {
      const details = providerDetails({ error, error_description: singleParameter(query, 'error_description') });
      throw new AppError('admin_consent_refused', { details });
    }
    if (singleParameter(query, 'admin_consent')?.toLowerCase() !== 'true')
      throw invalidCallback('admin consent answer without admin_consent=True');

    const signedIn = req.session?.userId !== undefined && req.session.userId === request.userId;
    res.set('Cache-Control', 'no-store');
    res.render('admin-consent', {
      title: 'Admin consent granted',
      tenantId: request.tenantId,
      scopes: request.scopes,
      fromLink,
      csrfToken: signedIn ? csrfTokenFor(req) : undefined,
    });
  };
}
