import type { Page } from './http-browser.ts';

/** The CSRF token of a signed-in page's forms. */
export function csrfOf(page: Page): string {
  const token = page.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (token === undefined) throw new Error(`no CSRF token on ${page.url} (status ${page.status})`);
  return token;
}
