import type { TestAccount } from '../../dev/idp/types.ts';
import type { HttpBrowser, Page } from './http-browser.ts';

/**
 * Follows `startUrl` to the local provider's sign-in form and submits it, as a browser without JavaScript would;
 * returns the callback URL the provider redirected to (not yet visited).
 */
export async function signInAtProvider(
  browser: HttpBrowser,
  startUrl: string,
  isCallback: (url: string) => boolean,
  account: TestAccount,
): Promise<string> {
  const loginPage = await browser.follow(startUrl, { stopAt: isCallback });
  const form = readForm(loginPage);
  const result = await browser.follow(form.action, {
    stopAt: isCallback,
    form: { ...form.hidden, [form.usernameField]: account.username, [form.passwordField]: account.password },
  });
  if (result.location === undefined || !isCallback(result.location)) {
    throw new Error(`the provider did not redirect back to the app (status ${result.status}): ${result.body.slice(0, 300)}`);
  }
  return result.location;
}

/** The sign-in form of the local provider: its action, hidden fields and credential field names. */
export function readForm(page: Page): { action: string; hidden: Record<string, string>; usernameField: string; passwordField: string } {
  const formTag = page.body.match(/<form[^>]*action="([^"]+)"[^>]*>/i);
  if (formTag === null) throw new Error(`no form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  const hidden: Record<string, string> = {};
  for (const input of page.body.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]+)"/)?.[1];
    const value = input[0].match(/value="([^"]*)"/)?.[1];
    if (name !== undefined) hidden[name] = decodeEntities(value ?? '');
  }
  const usernameField =
    page.body.match(/<input[^>]*type="email"[^>]*name="([^"]+)"/i)?.[1] ??
    page.body.match(/<input[^>]*name="([^"]+)"[^>]*type="email"/i)?.[1] ??
    'login';
  const passwordField =
    page.body.match(/<input[^>]*type="password"[^>]*name="([^"]+)"/i)?.[1] ??
    page.body.match(/<input[^>]*name="([^"]+)"[^>]*type="password"/i)?.[1] ??
    'password';
  return { action: new URL(decodeEntities(formTag[1]!), page.url).href, hidden, usernameField, passwordField };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}
