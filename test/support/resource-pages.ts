import assert from 'node:assert/strict';
import { DEFAULT_IDP_RESOURCES } from '../../dev/idp/index.ts';
import type { IdpResource } from '../../dev/idp/index.ts';
import type { TestAccount } from '../../dev/idp/types.ts';
import type { Harness } from './harness.ts';
import type { HttpBrowser, Page } from './http-browser.ts';
import { readForm, signInAtProvider } from './provider-sign-in.ts';

/** A resource whose Conditional Access policy asks for MFA (a claims challenge, AADSTS50076) before a token. */
export const MFA_API = 'api://0c0ffee0-5a1e-4d2c-8b3a-9f8e7d6c5b4a';

/** The provider's default resources and MFA_API (its one permission, Read, consented for the tenant). */
export const RESOURCES_WITH_MFA_API: readonly IdpResource[] = [
  ...DEFAULT_IDP_RESOURCES,
  { identifier: MFA_API, scopes: ['Read'], consent: 'tenant', requiresMfa: true },
];

/** The CSRF token of a signed-in page's forms. */
export function csrfOf(page: Page): string {
  const token = page.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (token === undefined) throw new Error(`no CSRF token on ${page.url} (status ${page.status}): ${page.body.slice(0, 200)}`);
  return token;
}

/** EJS's escaping undone, for values read back from the page's HTML. */
export function decodeHtml(text: string): string {
  return text
    .replace(/&#34;/g, '"')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function decodeOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : decodeHtml(text);
}

/** A token the page lists under "Tokens for other APIs". */
export interface ListedToken {
  readonly resource: string;
  readonly audience: string;
  readonly accessToken: string;
  readonly scopes: readonly string[];
  readonly curlLine: string | undefined;
}

/** Every token the page lists under "Tokens for other APIs", in order. */
export function listedTokens(page: Page): ListedToken[] {
  return [...page.body.matchAll(/<article class="resource-token"[\s\S]*?<\/article>/g)].map(([article]) => ({
    resource: decodeHtml(article.match(/Access token for <code>([^<]*)<\/code>/)?.[1] ?? ''),
    audience: decodeHtml(article.match(/Audience \(aud\)<\/dt><dd><code>([^<]*)<\/code>/)?.[1] ?? ''),
    accessToken: decodeHtml(article.match(/<textarea[^>]*>([^<]*)<\/textarea>/)?.[1] ?? ''),
    scopes: [...(article.match(/aria-label="Granted scopes">([\s\S]*?)<\/ul>/)?.[1] ?? '').matchAll(/<li>([^<]*)<\/li>/g)].map((m) =>
      decodeHtml(m[1]!),
    ),
    curlLine: decodeOptional(article.match(/data-copy-text="([^"]*)"/)?.[1]),
  }));
}

/** The explained refusal the page shows, with the ways out it offers. */
export interface ShownRefusal {
  readonly title: string;
  readonly aadsts: string | undefined;
  /** The scopes of "Sign in for this API", when offered. */
  readonly signInScope: string | undefined;
  /** The claims challenge that button passes on. */
  readonly claims: string | undefined;
  /** The admin-consent button's scopes, when offered. */
  readonly adminConsentScope: string | undefined;
  readonly text: string;
}

/** The refusal card of the page, or undefined when there is none. */
export function shownRefusal(page: Page): ShownRefusal | undefined {
  const card = page.body.match(/<section class="card card-warning" aria-labelledby="refused-heading"[\s\S]*?<\/section>/)?.[0];
  if (card === undefined) return undefined;
  const formOf = (action: string) => card.match(new RegExp(`<form method="post" action="${action}">([\\s\\S]*?)</form>`))?.[1];
  const fieldOf = (form: string | undefined, name: string) => {
    const value = form?.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
    return value === undefined ? undefined : decodeHtml(value);
  };
  const signIn = formOf('/resources/sign-in');
  const adminConsent = formOf('/resources/admin-consent');
  return {
    title: decodeHtml(card.match(/<h2 id="refused-heading">([^<]*)<\/h2>/)?.[1] ?? ''),
    aadsts: card.match(/<code>AADSTS(\d+)<\/code>/)?.[1],
    signInScope: fieldOf(signIn, 'scope'),
    claims: fieldOf(signIn, 'claims'),
    adminConsentScope: fieldOf(adminConsent, 'scope'),
    text: decodeHtml(card.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')),
  };
}

/** Asks the page for a token (POST /resources with this session's CSRF token), then returns the page it comes back to. */
export async function askForToken(
  harness: Harness,
  browser: HttpBrowser,
  fields: { scope: string } | { resource: string } | { scope: string; renew: '1' },
): Promise<Page> {
  const home = await browser.request(`${harness.baseUrl}/`);
  const answer = await browser.request(`${harness.baseUrl}/resources`, { form: { _csrf: csrfOf(home), ...fields } });
  assert.equal(answer.status, 303, answer.body.slice(0, 300));
  assert.equal(answer.location, `${harness.baseUrl}/`);
  return browser.request(`${harness.baseUrl}/`);
}

/**
 * Uses the refusal's "Sign in for this API" and signs in at the provider as `account`; returns the authorization URL
 * the app sent the browser to and the callback URL the provider redirected to (not yet visited).
 */
export async function signInForApi(
  harness: Harness,
  browser: HttpBrowser,
  page: Page,
  account: TestAccount,
): Promise<{ authorizationUrl: URL; callbackUrl: string }> {
  const refusal = shownRefusal(page);
  assert.ok(refusal?.signInScope !== undefined, 'the page offers Sign in for this API');
  const form: Record<string, string> = { _csrf: csrfOf(page), scope: refusal.signInScope };
  if (refusal.claims !== undefined) form.claims = refusal.claims;
  const start = await browser.request(`${harness.baseUrl}/resources/sign-in`, { form });
  assert.equal(start.status, 303, start.body.slice(0, 300));
  const authorizationUrl = new URL(start.location!);
  const callbackUrl = await signInAtProvider(
    browser,
    authorizationUrl.href,
    (url) => url.startsWith(`${harness.baseUrl}/connect/get_token`),
    account,
  );
  return { authorizationUrl, callbackUrl };
}

/**
 * Uses the refusal's admin-consent button and answers Microsoft's admin-consent page as `account` (accept or cancel);
 * returns the admin-consent URL the app sent the browser to and where the provider sent it back (not yet visited).
 */
export async function answerAdminConsent(
  harness: Harness,
  browser: HttpBrowser,
  page: Page,
  account: TestAccount,
  action: 'accept' | 'cancel',
): Promise<{ adminConsentUrl: URL; answerUrl: string }> {
  const refusal = shownRefusal(page);
  assert.ok(refusal?.adminConsentScope !== undefined, 'the page offers admin consent');
  const start = await browser.request(`${harness.baseUrl}/resources/admin-consent`, {
    form: { _csrf: csrfOf(page), scope: refusal.adminConsentScope },
  });
  assert.equal(start.status, 303, start.body.slice(0, 300));
  const adminConsentUrl = new URL(start.location!);
  return { adminConsentUrl, answerUrl: await answerAdminConsentPage(browser, adminConsentUrl.href, account, action) };
}

/** Opens an admin-consent URL at the provider and answers its page; returns the provider's redirect (not yet visited). */
export async function answerAdminConsentPage(
  browser: HttpBrowser,
  adminConsentUrl: string,
  account: TestAccount,
  action: 'accept' | 'cancel',
): Promise<string> {
  const consentPage = await browser.request(adminConsentUrl);
  assert.equal(consentPage.status, 200, consentPage.body.slice(0, 300));
  const form = readForm(consentPage);
  const answer = await browser.request(form.action, {
    form: { ...form.hidden, email: account.username, password: account.password, action },
  });
  assert.equal(answer.status, 302, answer.body.slice(0, 300));
  return answer.location!;
}

/** The claims of a JWT, decoded (never verified: the app never validates access tokens either). */
export function claimsOf(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The provider's consent as it starts: each default resource's own setting, no account's interactive consent. */
export function resetProviderConsent(harness: Harness): void {
  for (const resource of DEFAULT_IDP_RESOURCES) harness.idp.setResourceConsent(resource.identifier, resource.consent);
  harness.idp.revokeConsent();
}
