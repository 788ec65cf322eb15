import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import type { Config } from '../../src/config.ts';
import { createTokenCipher, tokenContext } from '../../src/tokens/token-cipher.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { startBrowserApp } from '../support/browser-app.ts';
import type { BrowserApp } from '../support/browser-app.ts';

const DOCS = path.resolve('docs');

/** axe-core on the page as it is now: no serious or critical violations allowed. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const severe = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  assert.deepEqual(
    severe.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`),
    [],
    `accessibility violations on the ${what} page`,
  );
  assert.ok(results.passes.length > 10, 'axe really ran');
}

describe('end to end in headless Chromium', () => {
  let app: BrowserApp;
  let browser: Browser;
  let idp: StartedIdp;
  let database: TestDatabase;
  let config: Config;
  const cookieValues: string[] = [];

  before(async () => {
    app = await startBrowserApp();
    ({ browser, idp, database, config } = app);
  });

  after(async () => {
    await app?.close(cookieValues);
  });

  it('when a person signs in, then the page shows the stored token, Copy copies it, and a restart keeps them signed in', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: config.baseUrl });
    const page = await context.newPage();

    await page.goto(`${config.baseUrl}/`);
    await assertAccessible(page, 'signed-out');
    await page.screenshot({ path: path.join(DOCS, 'signed-out.png') });
    await page.getByRole('link', { name: 'Sign in with Office 365' }).click();

    const account = idp.accounts[0]!;
    await page.getByLabel('Email').fill(account.username);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${config.baseUrl}/`);

    await assert.doesNotReject(page.getByRole('heading', { name: `Signed in as ${account.displayName}` }).waitFor());
    const shown = await page.getByRole('textbox', { name: /Access token/ }).inputValue();
    const user = await database.prisma.user.findFirstOrThrow({ include: { tokenSet: true } });
    const stored = createTokenCipher([config.tokenEncryptionKey]).open(user.tokenSet!.accessToken, tokenContext(user, 'accessToken'));
    assert.equal(shown, stored, 'the page shows the token stored in the database');
    assert.equal(shown, idp.issuedAccessTokens.at(-1), 'which is the one the provider issued');

    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByText('Copied').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);

    cookieValues.push(...(await context.cookies()).map((item) => item.value));
    const cookie = (await context.cookies()).find((item) => item.name === 'o365signin.sid');
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');

    await page.getByRole('button', { name: 'Copy as Authorization: Bearer … header' }).click();
    await page.getByText('Copied: Authorization: Bearer …').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `Authorization: Bearer ${shown}`);

    await page.getByRole('button', { name: 'Copy as curl for GET /v1.0/me' }).click();
    await page.getByText("Copied: curl -H 'Authorization: Bearer …").waitFor();
    assert.equal(
      await page.evaluate(() => navigator.clipboard.readText()),
      `curl -H 'Authorization: Bearer ${shown}' '${config.graphBaseUrl}/v1.0/me'`,
    );

    await assertAccessible(page, 'signed-in');
    await page.getByText('Decoded access token').click();
    await page.screenshot({ path: path.join(DOCS, 'signed-in.png'), fullPage: true });
    await page.getByText('Decoded access token').click();

    await app.restart();
    await page.reload();
    await assert.doesNotReject(page.getByRole('heading', { name: `Signed in as ${account.displayName}` }).waitFor());
    assert.equal(await page.getByRole('textbox', { name: /Access token/ }).inputValue(), shown, 'still signed in after a restart');

    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.getByText('Token refreshed').waitFor();
    const refreshed = await page.getByRole('textbox', { name: /Access token/ }).inputValue();
    assert.notEqual(refreshed, shown);
    assert.equal(refreshed, idp.issuedAccessTokens.at(-1));

    await page.getByRole('button', { name: 'Check with Microsoft Graph' }).click();
    await page.getByText('Microsoft Graph accepted the token').waitFor();
    await assert.doesNotReject(page.getByText(account.username, { exact: true }).first().waitFor());
    await assertAccessible(page, 'signed-in with a Graph result');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out').waitFor();
    await page.goBack();
    assert.equal(await page.getByRole('textbox', { name: /Access token/ }).count(), 0, 'Back shows no token');
    await context.close();
  });

  it('when a person cancels at the provider, then a friendly page says they did not sign in', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${config.baseUrl}/`);
    await page.getByRole('link', { name: 'Sign in with Office 365' }).click();
    const response = page.waitForResponse((candidate) => candidate.url().startsWith(`${config.baseUrl}/connect/get_token`));
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await response).status(), 403);
    await assert.doesNotReject(page.getByRole('heading', { name: 'You did not sign in' }).waitFor());
    await page.getByText('Technical details').click();
    await assertAccessible(page, 'error');
    await page.screenshot({ path: path.join(DOCS, 'declined.png'), fullPage: true });
    assert.equal(await database.prisma.user.count(), 1, 'only the earlier sign-in is stored');
    await context.close();
  });
});
