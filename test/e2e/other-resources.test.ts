import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import type { Config } from '../../src/config.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { startBrowserApp } from '../support/browser-app.ts';
import type { BrowserApp } from '../support/browser-app.ts';
import { claimsOf } from '../support/resource-pages.ts';

const DOCS = path.resolve('docs');

/** The decoded `aud` of every token the page lists under "Tokens for other APIs", in order. */
async function listedAudiences(page: Page): Promise<string[]> {
  const tokens = await page
    .locator('article.resource-token textarea')
    .evaluateAll((areas) => areas.map((area) => (area as HTMLTextAreaElement).value));
  return tokens.map((token) => String(claimsOf(token).aud));
}

describe('tokens for other APIs in headless Chromium', () => {
  let app: BrowserApp;
  let browser: Browser;
  let idp: StartedIdp;
  let config: Config;

  before(async () => {
    app = await startBrowserApp();
    ({ browser, idp, config } = app);
  });

  after(async () => {
    await app?.close();
  });

  it('when a person gets tokens for Outlook and Azure Resource Manager, then signs in for SharePoint after its consent page, then each is listed with its own aud, and Copy copies one', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: config.baseUrl });
    const page = await context.newPage();
    const account = idp.accounts[0]!;
    const signInAtProvider = async () => {
      await page.getByLabel('Email').fill(account.username);
      await page.getByLabel('Password').fill(account.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${config.baseUrl}/`);
    };

    await page.goto(`${config.baseUrl}/`);
    await page.getByRole('link', { name: 'Sign in with Office 365' }).click();
    await signInAtProvider();
    await page.getByRole('button', { name: 'Outlook / Exchange Online' }).click();
    await page.getByRole('heading', { name: 'Tokens for other APIs' }).waitFor();
    await page.getByRole('button', { name: 'Azure Resource Manager' }).click();
    await page.getByText('Microsoft issued it just now').waitFor();
    assert.deepEqual(await listedAudiences(page), ['https://management.azure.com', 'https://outlook.office.com']);

    await page.getByLabel("SharePoint: your tenant's SharePoint address").fill('https://contoso.sharepoint.com');
    await page.getByRole('button', { name: 'SharePoint', exact: true }).click();
    await page.getByRole('heading', { name: 'Consent is needed for this API' }).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Admin consent (for an administrator)' }).isVisible());
    const requests = idp.tokenRequestCount();
    await page.getByRole('button', { name: 'Sign in for this API' }).click();
    await signInAtProvider();
    assert.equal(idp.tokenRequestCount(), requests + 1, 'the code of the sign-in for SharePoint, redeemed once');
    assert.deepEqual(await listedAudiences(page), [
      'https://contoso.sharepoint.com',
      'https://management.azure.com',
      'https://outlook.office.com',
    ]);

    const results = await new AxeBuilder({ page }).analyze();
    const severe = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    assert.deepEqual(
      severe.map((violation) => violation.id),
      [],
    );

    const outlook = page.locator('article.resource-token').filter({ hasText: 'Outlook / Exchange Online' });
    await outlook.getByRole('button', { name: 'Copy', exact: true }).click();
    await outlook.getByText('Copied').waitFor();
    assert.equal(String(claimsOf(await page.evaluate(() => navigator.clipboard.readText())).aud), 'https://outlook.office.com');

    await page.locator('section:has(#resource-tokens-heading)').screenshot({ path: path.join(DOCS, 'other-resources.png') });
    await context.close();
  });
});
