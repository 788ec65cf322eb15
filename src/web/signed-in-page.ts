import path from 'node:path';
import type { Config } from '../config.ts';
import { adminConsentTenantOf } from '../auth/admin-consent.ts';
import { createBoundedMap } from '../bounded-memo.ts';
import type { Notice } from '../sessions/session-data.ts';
import { createTokenViewer } from '../tokens/jwt-view.ts';
import type { StoredResourceToken } from '../tokens/resource-token-store.ts';
import { defaultScopesOf } from '../tokens/resource-token-service.ts';
import type { StoredSignIn, StoredUser } from '../tokens/token-store.ts';
import { buildCurlCommand } from './curl-command.ts';
import { describeResource, KNOWN_RESOURCES, sharePointGuessOf } from './resource-catalogue.ts';
import { renderView, VIEWS_DIRECTORY } from './view-engine.ts';

/**
 * Everything the signed-in page shows of one request, as JSON data: the user, their tokens (never the refresh token,
 * only whether there is one), the flags that depend on the time of the request, and the session's CSRF token.
 */
export interface SignedInPageFacts {
  readonly user: StoredUser;
  readonly tokens:
    | {
        readonly accessToken: string;
        readonly idToken: string;
        readonly tokenType: string;
        readonly scopes: readonly string[];
        /** ISO 8601. */
        readonly expiresAt: string;
        readonly expired: boolean;
        readonly hasRefreshToken: boolean;
      }
    | undefined;
  readonly needsSignIn: boolean;
  /** Why a due refresh could not be done now (Microsoft unreachable), as the page says it. */
  readonly refreshProblem: string | undefined;
  readonly resourceTokens: readonly (Pick<StoredResourceToken, 'resource' | 'requestedScopes' | 'tokenType' | 'accessToken' | 'scopes'> & {
    /** ISO 8601. */
    readonly expiresAt: string;
    readonly expired: boolean;
  })[];
  readonly csrfToken: string;
}

/** What a request knows when it shows the signed-in page; `now` is the moment that decides what has expired. */
export interface SignedInPageState {
  readonly signIn: StoredSignIn;
  readonly needsSignIn: boolean;
  readonly refreshProblem: string | undefined;
  readonly resourceTokens: readonly StoredResourceToken[];
  readonly csrfToken: string;
  readonly now: number;
}

/** The facts of the signed-in page for one request: plain data, no refresh token, every time-dependent flag decided. */
export function signedInPageFacts(state: SignedInPageState): SignedInPageFacts {
  const { signIn, now } = state;
  const { user, tokens } = signIn;
  return {
    user: { id: user.id, tenantId: user.tenantId, objectId: user.objectId, displayName: user.displayName, username: user.username },
    tokens:
      tokens === undefined
        ? undefined
        : {
            accessToken: tokens.accessToken,
            idToken: tokens.idToken,
            tokenType: tokens.tokenType,
            scopes: tokens.scopes,
            expiresAt: tokens.expiresAt.toISOString(),
            expired: tokens.expiresAt.getTime() <= now,
            hasRefreshToken: tokens.refreshToken !== undefined,
          },
    needsSignIn: state.needsSignIn,
    refreshProblem: state.refreshProblem,
    resourceTokens: state.resourceTokens.map((token) => ({
      resource: token.resource,
      requestedScopes: token.requestedScopes,
      tokenType: token.tokenType,
      accessToken: token.accessToken,
      scopes: token.scopes,
      expiresAt: token.expiresAt.toISOString(),
      expired: token.expiresAt.getTime() <= now,
    })),
    csrfToken: state.csrfToken,
  };
}

const HOME_TEMPLATE = path.join(VIEWS_DIRECTORY, 'home.ejs');

/** Pages kept rendered: one per signed-in user who reloads, a few dozen at most. */
const KEPT_PAGES = 32;

/**
 * The signed-in page, rendered from its facts alone (and the app's settings, fixed when the app is built). Without a
 * notice the bytes are kept for the last KEPT_PAGES users, each page with the facts it was rendered from: it is sent again
 * only when this request's facts equal those, field by field (the same user, tokens, expiry flags and CSRF token, so the
 * same session), and otherwise rendered anew in its place. A notice shows once: that page is rendered and
 * not kept. Comparing the facts, rather than looking pages up by the facts as text, writes no copy of the tokens per view.
 */
export function createSignedInPage(
  config: Pick<Config, 'graphBaseUrl' | 'scopes'>,
  appLocals: Readonly<Record<string, unknown>>,
): (facts: SignedInPageFacts, notice: Notice | undefined) => Buffer {
  const viewToken = createTokenViewer();
  const defaultScopes = defaultScopesOf(config.scopes);
  const defaultResource = defaultScopes === undefined ? undefined : describeResource(defaultScopes.resource, config.graphBaseUrl).name;

  const render = (facts: SignedInPageFacts, notice: Notice | undefined): Buffer => {
    const { user, tokens } = facts;
    const expiresAt = tokens === undefined ? undefined : new Date(tokens.expiresAt);
    return Buffer.from(
      renderView(
        HOME_TEMPLATE,
        Object.assign({}, appLocals, {
          title: `Signed in as ${user.displayName}`,
          notice,
          signIn: { user, tokens: tokens === undefined ? undefined : Object.assign({}, tokens, { expiresAt }) },
          needsSignIn: facts.needsSignIn,
          refreshProblem: facts.refreshProblem,
          expired: tokens?.expired ?? false,
          accessTokenView: tokens === undefined ? undefined : viewToken(tokens.accessToken),
          idTokenView: tokens === undefined ? undefined : viewToken(tokens.idToken),
          curlCommand: tokens === undefined ? undefined : buildCurlCommand(tokens.accessToken, `${config.graphBaseUrl}/v1.0/me`),
          defaultResource,
          resourceTokens: facts.resourceTokens.map((token, index) => {
            const description = describeResource(token.resource, config.graphBaseUrl);
            const view = viewToken(token.accessToken);
            const { testCall } = description;
            return Object.assign({}, token, {
              id: `resource-token-${index}`,
              name: description.name,
              requestedScopes: token.requestedScopes.join(' '),
              expiresAt: new Date(token.expiresAt),
              audience: view.kind === 'jwt' ? view.claims.find((claim) => claim.name === 'aud')?.value : undefined,
              view,
              testCallLabel: testCall?.label,
              curlCommand: testCall === undefined ? undefined : buildCurlCommand(token.accessToken, testCall.url, testCall.headers),
              note: description.note,
            });
          }),
          knownResources: KNOWN_RESOURCES,
          sharePointGuess: sharePointGuessOf(user.username),
          personalAccount: adminConsentTenantOf(user.tenantId) === undefined,
          csrfToken: facts.csrfToken,
        }),
      ),
    );
  };
  const keptPages = createBoundedMap<{ readonly facts: SignedInPageFacts; readonly page: Buffer }>(KEPT_PAGES);

  return (facts, notice) => {
    if (notice !== undefined) return render(facts, notice);
    // Both sides are the server's own facts (kept, and read with this session's row): nothing a browser sent is compared.
    const kept = keptPages.get(facts.user.id);
    if (kept !== undefined && sameData(kept.facts, facts)) return kept.page;
    const page = render(facts, undefined);
    keptPages.set(facts.user.id, { facts, page });
    return page;
  };
}

/**
 * True when two values of JSON data (strings, numbers, booleans, null, undefined, arrays and plain objects of them, as
 * SignedInPageFacts are) are equal: the same keys with equal values, at every depth.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let keys = 0;
  for (const key in left) {
    if (!Object.hasOwn(right, key) || !sameData(left[key], right[key])) return false;
    keys += 1;
  }
  for (const key in right) if (Object.hasOwn(right, key)) keys -= 1;
  return keys === 0;
}
