import type { TestAccount } from '../dev/idp/types.ts';
import { HttpBrowser } from '../test/support/http-browser.ts';
import { signInAtProvider } from '../test/support/provider-sign-in.ts';
import { cpuMilliseconds } from './proc.ts';
import type { Service } from './processes.ts';

/** Where a relying party starts its sign-in and where the provider sends the browser back. */
export interface SignInRoutes {
  readonly baseUrl: string;
  readonly startPath: string;
  readonly callbackPath: string;
}

/** Our app's routes: `/connect` and `/connect/get_token`. */
export const appRoutes = (baseUrl: string): SignInRoutes => ({ baseUrl, startPath: '/connect', callbackPath: '/connect/get_token' });

/**
 * The Cookie header of express-openid-connect's session: its default cookie `appSession`, which it splits into
 * `appSession.0`, `appSession.1` … when the session (with its tokens) is too large for one cookie.
 */
export function eocSessionCookie(browser: HttpBrowser): string {
  const names = ['appSession', ...Array.from({ length: 10 }, (_, index) => `appSession.${index}`)];
  return names
    .flatMap((name) => {
      const value = browser.cookie(name);
      return value === undefined ? [] : [`${name}=${value}`];
    })
    .join('; ');
}

/** express-openid-connect's default routes: `/login` and `/callback`. */
export const eocRoutes = (baseUrl: string): SignInRoutes => ({ baseUrl, startPath: '/login', callbackPath: '/callback' });

/**
 * One complete sign-in over HTTP with a fresh cookie jar: start, the provider's form, the callback, and the page
 * it lands on, which must show the account's name. Returns the signed-in browser and that page's HTML.
 */
export async function signIn(routes: SignInRoutes, account: TestAccount): Promise<{ browser: HttpBrowser; html: string }> {
  const browser = new HttpBrowser();
  const callbackPrefix = `${routes.baseUrl}${routes.callbackPath}`;
  const callbackUrl = await signInAtProvider(
    browser,
    `${routes.baseUrl}${routes.startPath}`,
    (url) => url.startsWith(callbackPrefix),
    account,
  );
  const page = await browser.follow(callbackUrl);
  if (page.status !== 200 || !page.body.includes(account.displayName)) {
    throw new Error(
      `sign-in at ${routes.baseUrl} did not end on a signed-in page (status ${page.status} at ${page.url}): ${page.body.slice(0, 300)}`,
    );
  }
  return { browser, html: page.body };
}

/**
 * Server CPU (from /proc) per complete sign-in of each side, over `count` sign-ins a side taken in turn (ours, theirs,
 * ours, …): a burst of load from elsewhere on the machine then falls on both sides alike, not on one side's batch.
 */
export async function cpuPerSignInInTurn(
  sides: readonly { service: Service; routes: SignInRoutes }[],
  account: TestAccount,
  count: number,
): Promise<number[]> {
  const totals = sides.map(() => 0);
  for (let index = 0; index < count; index += 1) {
    for (const [side, { service, routes }] of sides.entries()) {
      const before = cpuMilliseconds(service.serverPid);
      await signIn(routes, account);
      totals[side]! += cpuMilliseconds(service.serverPid) - before;
    }
  }
  return totals.map((total) => total / count);
}

/** Fails the bench when the cookie no longer shows the account's signed-in page (a measurement of the wrong page). */
export async function assertSignedIn(url: string, cookie: string, account: TestAccount): Promise<void> {
  const body = await (await fetch(url, { headers: { cookie } })).text();
  if (!body.includes(account.displayName)) throw new Error(`the session cookie no longer signs in at ${url}`);
}
