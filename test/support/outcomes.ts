import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import { countRows } from './database.ts';
import { startHarness } from './harness.ts';
import type { Harness } from './harness.ts';
import type { HttpBrowser, Page } from './http-browser.ts';

/** The app's session cookie name on http. */
export const SESSION_COOKIE = 'o365signin.sid';

/** The browser's home page offers to sign in and shows nobody. */
export async function assertSignedOut(harness: Harness, browser: HttpBrowser): Promise<void> {
  const home = await browser.request(`${harness.baseUrl}/`);
  assert.equal(home.status, 200);
  assert.match(home.body, /Sign in with Office 365/);
  assert.doesNotMatch(home.body, /Signed in as/);
}

/** No user, no token set and no signed-in session in the database. */
export async function assertNothingWritten(harness: Harness): Promise<void> {
  assert.deepEqual(await countRows(harness.database.prisma), { users: 0, tokenSets: 0, signedInSessions: 0 });
}

/** REJECT of SECURITY.md: a 4xx page that says the request is invalid or expired and offers to start again. */
export function assertRejectPage(page: Page, status = 400): void {
  assert.equal(page.status, status, `expected REJECT ${status}, got ${page.status}: ${page.body.slice(0, 200)}`);
  // A callback with no session cookie at all gets the same REJECT with a more specific title (issue 4: name the cause).
  assert.match(page.body, /This sign-in link is invalid or has expired|Your browser lost this app&#39;s session during sign-in/);
  assert.match(page.body, /href="\/connect"/, 'offers to start again');
}

/** FAIL-SAFE of SECURITY.md: a 502/503 page that says Microsoft sign-in is unavailable, try again. */
export function assertFailSafePage(page: Page): void {
  assert.ok(page.status === 502 || page.status === 503, `expected 502/503, got ${page.status}: ${page.body.slice(0, 300)}`);
  assert.match(page.body, /Microsoft sign-in is unavailable/);
  assert.match(page.body, /Try again/i);
}

/** A page whose ID token failed a check: 400 "could not be verified". */
export function assertIdTokenRejected(page: Page): void {
  assert.equal(page.status, 400, `expected 400, got ${page.status}: ${page.body.slice(0, 300)}`);
  assert.match(page.body, /Your sign-in could not be verified/);
}

/** The whole outcome of a failure: nothing stored, this browser signed out, the server still answering. */
export async function assertNothingHappened(harness: Harness, browser: HttpBrowser): Promise<void> {
  await assertNothingWritten(harness);
  await assertSignedOut(harness, browser);
}

/** Signs a new browser in (account 0 by default) and returns it with the callback page. */
export async function signIn(harness: Harness, account = harness.idp.accounts[0]!): Promise<{ browser: HttpBrowser; callback: Page }> {
  const browser = harness.browser();
  const callback = await browser.request(await harness.authorize(browser, account));
  return { browser, callback };
}

/** Empties the tables and clears the provider's faults, between tests sharing one harness. */
export async function resetHarness(harness: Harness): Promise<void> {
  harness.idp.setFault(null);
  // Past the key refetch cooldown, so a test that rolled the provider's keys does not leak into the next.
  harness.clock.advance(2 * 60 * 1000);
  await harness.database.prisma.user.deleteMany();
  await harness.database.prisma.session.deleteMany();
}

/**
 * One harness for the tests of a describe block (with `options`, as startHarness takes them): started before them,
 * closed after them, reset before each (the file's own beforeEach runs after this one); `receive` hands it to the block's variable.
 */
export function useHarness(receive: (harness: Harness) => void, options?: Parameters<typeof startHarness>[0]): void {
  let harness: Harness | undefined;
  before(async () => {
    harness = await startHarness(options);
    receive(harness);
  });
  after(async () => {
    await harness?.close();
  });
  beforeEach(async () => {
    if (harness !== undefined) await resetHarness(harness);
  });
}

/** The stored session row a session cookie names (its value as the browser holds it): destroyed or not, its data and its user. */
export async function sessionRowOf(
  harness: Harness,
  cookie: string,
): Promise<{ destroyed: boolean; data: string; userId: string | null } | null> {
  // express-session's cookie is "s:" + the id + "." + its signature, URL-encoded.
  const sid = decodeURIComponent(cookie).slice(2).split('.')[0]!;
  return harness.database.prisma.session.findUnique({ where: { id: sid }, select: { destroyed: true, data: true, userId: true } });
}
