import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { keyIdOf } from '../../src/tokens/token-cipher.ts';
import { MARKUP_DISPLAY_NAME } from '../../dev/idp/faults.ts';
import { clientSecretOf } from '../support/harness.ts';
import { startInstance } from '../support/instances.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { signIn, useHarness } from '../support/outcomes.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';
import { COMMAND_TIME_LIMIT_MS } from '../support/bounded-waits.ts';

/** Serves the harness's database with other encryption keys, as after a restart with a changed .env. */
async function withKeys<T>(
  harness: Harness,
  keys: { current: Buffer; previous?: Buffer[] },
  use: (baseUrl: string) => Promise<T>,
): Promise<T> {
  const parsed = parseConfig({
    O365_APP_ID: harness.config.appId,
    O365_APP_KEY: clientSecretOf(harness.config),
    O365_AUTHORITY_HOST: harness.config.authorityHost,
    BASE_URL: harness.baseUrl,
    DATABASE_URL: harness.database.url,
    SESSION_SECRET: harness.config.sessionSecret,
    TOKEN_ENCRYPTION_KEY: keys.current.toString('base64'),
    TOKEN_ENCRYPTION_KEYS_PREVIOUS: (keys.previous ?? []).map((key) => key.toString('base64')).join(','),
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('; '));
  const instance = await startInstance(harness, { config: parsed.config });
  try {
    return await use(instance.baseUrl);
  } finally {
    await instance.close();
  }
}

async function homeOf(browser: HttpBrowser, baseUrl: string): Promise<{ status: number; body: string }> {
  const page = await browser.request(`${baseUrl}/`);
  return { status: page.status, body: page.body };
}

function runRotateKey(harness: Harness, current: Buffer, previous: Buffer[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/rotate-key.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: harness.database.url,
      TOKEN_ENCRYPTION_KEY: current.toString('base64'),
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: previous.map((key) => key.toString('base64')).join(','),
    },
    encoding: 'utf8',
    timeout: COMMAND_TIME_LIMIT_MS,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('H. tokens at rest and on the page', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S33: when the database file is dumped after a sign-in, then it holds no access, refresh or ID token in plain text', async () => {
    assert.equal((await signIn(harness)).callback.status, 303);
    const secrets = harness.idp.issuedSecrets.filter((secret) => secret !== clientSecretOf(harness.config));
    assert.ok(secrets.length >= 3, 'access, refresh and ID token were issued');
    const dump = await harness.database.dump();
    assert.ok(dump.includes(harness.idp.accounts[0]!.username), 'the dump holds the stored rows');
    for (const secret of secrets) assert.ok(!dump.includes(secret.slice(-40)), 'no token (not even its signature) in the database');
    const row = await harness.database.prisma.tokenSet.findFirstOrThrow();
    for (const column of [row.accessToken, row.refreshToken!, row.idToken]) {
      assert.match(column, new RegExp(`^v1\\.${keyIdOf(harness.config.tokenEncryptionKey)}\\.`), 'AES-256-GCM, tagged with the key id');
    }
    assert.equal((await signIn(harness, harness.idp.accounts[1])).callback.status, 303);
    const columns = (await harness.database.prisma.tokenSet.findMany()).flatMap((set) => [set.accessToken, set.refreshToken!, set.idToken]);
    assert.equal(
      new Set(columns.map((column) => column.split('.')[2])).size,
      6,
      'a fresh IV for every ciphertext (GCM with a repeated IV leaks the key stream)',
    );
  });

  it('S33: when the key rotates, then old rows open with TOKEN_ENCRYPTION_KEYS_PREVIOUS, npm run rotate-key re-encrypts them, and the old key can go', async () => {
    const { browser } = await signIn(harness);
    assert.equal((await signIn(harness, harness.idp.accounts[1])).callback.status, 303);
    const token = harness.idp.issuedAccessTokens.at(-2)!;
    const oldKey = harness.config.tokenEncryptionKey;
    const newKey = crypto.randomBytes(32);

    await withKeys(harness, { current: newKey }, async (baseUrl) => {
      const home = await homeOf(browser, baseUrl);
      assert.equal(home.status, 200);
      assert.match(home.body, /Sign in again/, 'without the old key the token cannot be read: sign in again, not a 500');
    });
    await withKeys(harness, { current: newKey, previous: [oldKey] }, async (baseUrl) => {
      assert.ok((await homeOf(browser, baseUrl)).body.includes(token), 'the previous key still decrypts');
    });

    const rotation = runRotateKey(harness, newKey, [oldKey]);
    assert.equal(rotation.status, 0, rotation.output);
    assert.match(rotation.output, new RegExp(`Re-encrypted 2 token set\\(s\\) under key ${keyIdOf(newKey)}; 0 could not be read`));
    for (const row of await harness.database.prisma.tokenSet.findMany()) assert.ok(row.accessToken.startsWith(`v1.${keyIdOf(newKey)}.`));
    await withKeys(harness, { current: newKey }, async (baseUrl) => {
      assert.ok((await homeOf(browser, baseUrl)).body.includes(token), 'after rotate-key the new key alone is enough');
    });
    const again = runRotateKey(harness, crypto.randomBytes(32), []);
    assert.match(again.output, /Re-encrypted 0 token set\(s\).*; 2 could not be read/s, 'rows no key opens are counted, not destroyed');
    assert.equal(await harness.database.prisma.tokenSet.count(), 2);
  });

  it('S33: when a stored ciphertext is tampered with or swapped with another user\'s, then the page says "sign in again", never a 500', async () => {
    const alice = await signIn(harness, harness.idp.accounts[0]);
    const bob = await signIn(harness, harness.idp.accounts[1]);
    const [first, second] = await harness.database.prisma.tokenSet.findMany({ orderBy: { createdAt: 'asc' } });
    await harness.database.prisma.tokenSet.update({ where: { id: first!.id }, data: { accessToken: second!.accessToken } });
    const tampered = `${second!.accessToken.slice(0, -4)}${second!.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await harness.database.prisma.tokenSet.update({ where: { id: second!.id }, data: { accessToken: tampered } });
    for (const { browser } of [alice, bob]) {
      const home = await homeOf(browser, harness.baseUrl);
      assert.equal(home.status, 200);
      assert.match(home.body, /Sign in again/);
      assert.doesNotMatch(home.body, /id="access-token"/);
    }
    await harness.database.prisma.tokenSet.update({ where: { id: second!.id }, data: { accessToken: 'garbage' } });
    assert.equal((await homeOf(bob.browser, harness.baseUrl)).status, 200);
  });

  it('S33: when the stored refresh token is tampered with after a page view, then the page says "sign in again", not the tokens', async () => {
    const { browser } = await signIn(harness);
    assert.match((await homeOf(browser, harness.baseUrl)).body, /id="access-token"/, 'shown once the refresh token is checked');
    const [tokenSet] = await harness.database.prisma.tokenSet.findMany();
    const sealed = tokenSet!.refreshToken!;
    const tampered = `${sealed.slice(0, -4)}${sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await harness.database.prisma.tokenSet.update({ where: { id: tokenSet!.id }, data: { refreshToken: tampered } });
    const home = await homeOf(browser, harness.baseUrl);
    assert.equal(home.status, 200);
    assert.match(home.body, /Sign in again/);
    assert.doesNotMatch(home.body, /id="access-token"/);
  });

  it('S34: when a person signs out of Microsoft too, then the URL sent to Microsoft carries no ID token (no id_token_hint, no part of it)', async () => {
    const { browser } = await signIn(harness);
    const { idToken } = await readStoredTokens(harness);
    const csrf = (await browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const out = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf, microsoft: '1' } });
    assert.equal(out.status, 303);
    const target = new URL(out.location!);
    assert.equal(`${target.origin}${target.pathname}`, (await harness.app.discovery.getMetadata()).endSessionEndpoint, 'to Microsoft');
    assert.ok(target.searchParams.has('logout_hint'), 'the account is named by its login_hint instead');
    assert.equal(target.searchParams.has('id_token_hint'), false);
    const [, payload, signature] = idToken.split('.');
    for (const part of [idToken, payload!, signature!])
      assert.ok(!decodeURIComponent(target.href).includes(part), 'no part of the ID token');
  });

  it("S34: when tokens are shown, then only the session user's own token, no-store, never in a URL, and the user's name HTML-escaped", async () => {
    harness.idp.setFault('id-token-markup-name');
    const alice = await signIn(harness, harness.idp.accounts[0]);
    const aliceToken = harness.idp.issuedAccessTokens.at(-1)!;
    harness.idp.setFault(null);
    const bob = await signIn(harness, harness.idp.accounts[1]);
    const bobToken = harness.idp.issuedAccessTokens.at(-1)!;

    const alicePage = await alice.browser.request(`${harness.baseUrl}/`);
    assert.equal(alicePage.headers.get('cache-control'), 'no-store');
    assert.ok(alicePage.body.includes(`>${aliceToken}</textarea>`), "the session user's own token");
    // An access token is an RFC 6750 token (letters, digits, -._~+/=), so the name carries the markup here.
    assert.ok(!alicePage.body.includes(MARKUP_DISPLAY_NAME) && !alicePage.body.includes('<script>alert'), 'never raw');
    const escaped = MARKUP_DISPLAY_NAME.replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;');
    assert.ok(alicePage.body.includes(`<h1 id="user-heading">Signed in as ${escaped}</h1>`), 'HTML-escaped');
    assert.ok(!alicePage.body.includes(bobToken), "never another user's");
    const bobPage = await bob.browser.request(`${harness.baseUrl}/`);
    assert.ok(bobPage.body.includes(bobToken) && !bobPage.body.includes(escaped));
    for (const page of [alicePage, bobPage, alice.callback, bob.callback]) {
      assert.ok(!String(page.location ?? '').includes(bobToken));
      for (const link of page.body.matchAll(/\b(?:href|src|action)="([^"]*)"/g)) {
        assert.ok(!link[1]!.includes(bobToken.slice(-30)) && !link[1]!.includes(aliceToken.slice(3, 15)), 'no token in any URL');
      }
    }
  });
});
