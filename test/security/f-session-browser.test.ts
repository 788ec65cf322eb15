import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';

/** A TLS-terminating reverse proxy with a throwaway self-signed certificate, as in front of a real deployment. */
async function startTlsProxy(folder: string): Promise<{ port: number; forwardTo(target: string): void; close(): Promise<void> }> {
  const key = path.join(folder, 'key.pem');
  const cert = path.join(folder, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  let target = '';
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    const upstream = new URL(target);
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1' },
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    forwarded.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    forwardTo(next) {
      target = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function signInWithChromium(page: Page, harness: Harness, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByRole('link', { name: 'Sign in with Office 365' }).click();
  const account = harness.idp.accounts[0]!;
  await page.getByLabel('Email').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${baseUrl}/`);
  await page.getByRole('heading', { name: `Signed in as ${account.displayName}` }).waitFor();
}

describe('F/G. cookies and sign-out in a real browser (Chromium)', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('S28: when a person signs in over http on loopback, then Chromium holds an HttpOnly, SameSite=Lax, Path=/ cookie that scripts cannot read', async () => {
    const harness = await startHarness();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signInWithChromium(page, harness, harness.baseUrl);
      const cookie = (await context.cookies()).find((item) => item.name === 'o365signin.sid');
      assert.ok(cookie);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      assert.equal(await page.evaluate(() => document.cookie.includes('o365signin')), false, 'HttpOnly: invisible to scripts');
    } finally {
      await context.close();
      await harness.close();
    }
  });

  it('S28: when BASE_URL is https behind a TLS proxy (TRUST_PROXY=loopback), then Chromium signs in and holds a __Host- cookie that is Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-tls-'));
    const proxy = await startTlsProxy(folder);
    const baseUrl = `https://127.0.0.1:${proxy.port}`;
    const harness = await startHarness({ env: { BASE_URL: baseUrl, TRUST_PROXY: 'loopback' } });
    proxy.forwardTo(harness.baseUrl);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      await signInWithChromium(page, harness, baseUrl);
      const cookies = await context.cookies(baseUrl);
      const cookie = cookies.find((item) => item.name === '__Host-o365signin.sid');
      assert.ok(cookie, `cookies: ${cookies.map((item) => item.name).join(', ')}`);
      assert.equal(cookie.secure, true);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      assert.equal(cookie.domain, '127.0.0.1', 'host-only');
      assert.equal(await harness.database.prisma.user.count(), 1);
    } finally {
      await context.close();
      await harness.close();
      await proxy.close();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('S32: when a person signs out in Chromium and presses Back, then no token is shown and the server session is gone', async () => {
    const harness = await startHarness();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signInWithChromium(page, harness, harness.baseUrl);
      const token = await page.getByRole('textbox', { name: /Access token/ }).inputValue();
      assert.ok(token.length > 20);
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByText('You are signed out').waitFor();
      assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
      await page.goBack();
      await page.waitForLoadState();
      assert.ok(!(await page.content()).includes(token), 'Back shows no token (no-store)');
    } finally {
      await context.close();
      await harness.close();
    }
  });
});
