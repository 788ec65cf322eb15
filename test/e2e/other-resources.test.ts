import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { startServer } from '../../src/start-server.ts';
import type { RunningServer } from '../../src/start-server.ts';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { freePort } from '../../dev/free-port.ts';
import { launchChromium } from '../support/chromium.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';
import { createTestLogger } from '../support/harness.ts';
import { claimsOf } from '../support/resource-pages.ts';
import { recordTestSecrets } from '../support/test-log.ts';

const DOCS = path.resolve('docs');

/** The decoded `aud` of every token the page lists under "Tokens for other APIs", in order. */
async function listedAudiences(page: Page): Promise<string[]> {
  const tokens = await page
    .locator('article.resource-token textarea')
    .evaluateAll((areas) => areas.map((area) => (area as HTMLTextAreaElement).value));
  return tokens.map((token) => String(claimsOf(token).aud));
}

describe('tokens for other APIs in headless Chromium', () => {
  let browser: Browser;
  let idp: StartedIdp;
  let database: TestDatabase;
  let config: Config;
  let server: RunningServer;

  before(async () => {
    browser = await launchChromium();
    database = await createTestDatabase();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const appId = crypto.randomUUID();
    const appKey = crypto.randomBytes(24).toString('base64url');
    idp = await startIdentityProvider({
      port: 0,
      clients: [
        { clientId: appId, clientSecret: appKey, redirectUris: [`${baseUrl}/connect/get_token`], postLogoutRedirectUris: [`${baseUrl}/`] },
      ],
    });
    const parsed = parseConfig({
      O365_APP_ID: appId,
      O365_APP_KEY: appKey,
      O365_AUTHORITY_HOST: idp.origin,
      GRAPH_BASE_URL: idp.graphBaseUrl,
      BASE_URL: baseUrl,
      PORT: String(port),
      DATABASE_URL: database.url,
      SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('\n'));
    config = parsed.config;
    server = await startServer(config, createTestLogger());
  });

  after(async () => {
    recordTestSecrets([
      ...(idp?.issuedSecrets ?? []),
      config?.appKey,
      config?.sessionSecret,
      config?.tokenEncryptionKey.toString('base64'),
    ]);
    await browser?.close();
    await server?.close();
    await idp?.close();
    await database?.remove();
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
