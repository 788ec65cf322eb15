import type { Config } from '../config.ts';
import type { SqlDatabase } from '../db/sql.ts';
import { adminConsentTenantOf, buildAdminConsentUrl, recordAdminConsentLink } from '../auth/admin-consent.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import { resourceProblemOf } from '../tokens/resource-token-service.ts';
import type { ResourceTokenError } from '../tokens/resource-token-service.ts';
import type { StoredUser } from '../tokens/token-store.ts';
import { echoMessage } from './echoed-input.ts';
import { EXIT } from './exit-codes.ts';

/** Where the command writes, and what the explanation needs. */
interface RefusalContext {
  readonly config: Config;
  readonly database: SqlDatabase;
  readonly user: StoredUser;
  readonly request: ResourceScopes;
  readonly io: { stderr(text: string): void };
  readonly signInUrl: string;
}

/**
 * Explains on stderr why Microsoft issued no token for the resource, with the way out, and returns the exit code.
 * For AADSTS65001 it prints the admin-consent link of the user's own tenant: its one-time state is kept in the database
 * (not in a browser's session), because an administrator opens the link in their own browser; the answer page checks it.
 */
export async function reportResourceRefusal(error: ResourceTokenError, context: RefusalContext): Promise<number> {
  const { config, database, user, request, io, signInUrl } = context;
  const { details } = error;
  const scopes = request.scopes.join(' ');
  // Microsoft's first line already starts with its code ("AADSTS65001: The user or administrator has not consented …").
  const said = details.description === undefined ? undefined : echoMessage(details.description);
  const microsoft = said ?? (details.aadsts === undefined ? undefined : `AADSTS${details.aadsts}`);
  const onPage = `open ${signInUrl}, ask for "${scopes}" under Get a token for another API, and use Sign in for this API.`;
  io.stderr(`${error.title}.${microsoft === undefined ? '' : ` Microsoft said: ${microsoft}`}\n${error.message}\n`);
  switch (resourceProblemOf(error)) {
    case 'consent_required': {
      const tenantId = adminConsentTenantOf(user.tenantId);
      if (tenantId === undefined) {
        io.stderr(`Personal Microsoft accounts have no administrator: to consent for yourself, ${onPage}\n`);
        return EXIT.consentRequired;
      }
      const state = await recordAdminConsentLink(database, { userId: user.id, tenantId, scopes: request.scopes }, new Date());
      io.stderr(
        `To consent for yourself: ${onPage}\n` +
          'Or an administrator of your organisation grants it for everyone at this admin-consent link (it works once, in any browser, for 24 hours):\n' +
          `  ${buildAdminConsentUrl(config, { tenantId, scopes: request.scopes, state })}\n` +
          `Then run this command again. Nothing was stored.\n`,
      );
      return EXIT.consentRequired;
    }
    case 'interaction_required':
      io.stderr(`To sign in for it, ${onPage} Nothing was stored.\n`);
      return EXIT.consentRequired;
    case 'scope_refused':
      io.stderr(`${error.fix} Nothing was stored.\n`);
      return EXIT.scopesRefused;
    default:
      io.stderr(`${error.fix.replace(/\.$/, '')} at ${signInUrl}.\n`);
      return EXIT.signInAgain;
  }
}
