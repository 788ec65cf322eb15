import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EXIT, runTokenCommand } from '../../src/cli/token-command.ts';
import { existingDemoEnvironment, recordDemoRun } from '../../dev/demo-settings.ts';
import { createTokenCipher, tokenContext } from '../../src/tokens/token-cipher.ts';
import { startHarness, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import { runTokenScript as runToken } from '../support/token-script.ts';
import type { Harness } from '../support/harness.ts';
import { answerAdminConsentPage, claimsOf } from '../support/resource-pages.ts';

async function signIn(harness: Harness, account = harness.idp.accounts[0]!): Promise<void> {
  const browser = harness.browser();
  assert.equal((await browser.request(await harness.authorize(browser, account))).status, 303);
}

async function storedAccessToken(harness: Harness, objectId: string): Promise<string> {
  const user = await harness.database.prisma.user.findFirstOrThrow({ where: { objectId }, include: { tokenSet: true } });
  return createTokenCipher([harness.config.tokenEncryptionKey]).open(user.tokenSet!.accessToken, tokenContext(user, 'accessToken'));
}

describe('npm run token', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await harness.database.prisma.user.deleteMany();
  });

  it('when one user is stored, then stdout is the stored access token and nothing else', async () => {
    await signIn(harness);
    const result = await runToken(harness, []);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.equal(result.stdout, `${await storedAccessToken(harness, harness.idp.accounts[0]!.objectId)}\n`);
    assert.equal(result.stderr, '');
  });

  it('when --json is given, then token, expiry, scopes and user are printed as JSON', async () => {
    await signIn(harness);
    const result = await runToken(harness, ['--json']);
    assert.equal(result.code, EXIT.ok, result.stderr);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    const account = harness.idp.accounts[0]!;
    assert.equal(printed.accessToken, await storedAccessToken(harness, account.objectId));
    assert.ok(Date.parse(printed.expiresAt as string) > Date.now());
    assert.ok((printed.scopes as string[]).includes('User.Read'));
    assert.deepEqual(printed.user, {
      displayName: account.displayName,
      username: account.username,
      tenantId: account.tenantId,
      objectId: account.objectId,
    });
  });

  it('when no token is stored, then exit 3 and a message that says where to sign in', async () => {
    const result = await runToken(harness, []);
    assert.equal(result.code, EXIT.noStoredToken);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`sign in at ${harness.baseUrl}/`));
  });

  it('when several users are stored and no --user is given, then exit 4 listing them; --user picks one by username or object id', async () => {
    const [first, second] = harness.idp.accounts;
    await signIn(harness, first);
    await signIn(harness, second);
    const ambiguous = await runToken(harness, []);
    assert.equal(ambiguous.code, EXIT.severalUsers);
    assert.ok(ambiguous.stderr.includes(first!.username) && ambiguous.stderr.includes(second!.username));
    const byName = await runToken(harness, ['--user', second!.username.toUpperCase()]);
    assert.equal(byName.code, EXIT.ok, byName.stderr);
    assert.equal(byName.stdout.trim(), await storedAccessToken(harness, second!.objectId));
    const byObjectId = await runToken(harness, ['--user', first!.objectId]);
    assert.equal(byObjectId.stdout.trim(), await storedAccessToken(harness, first!.objectId));
    assert.equal((await runToken(harness, ['--user', 'nobody@contoso.test'])).code, EXIT.noStoredToken);
  });

  it('when the token expires within five minutes, then the CLI refreshes it and prints the new one', async () => {
    await signIn(harness);
    await harness.database.prisma.tokenSet.updateMany({ data: { expiresAt: new Date(Date.now() + 60_000) } });
    const count = harness.idp.tokenRequestCount();
    const result = await runToken(harness, []);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal(result.stdout.trim(), harness.idp.issuedAccessTokens.at(-1));
    assert.equal(result.stdout.trim(), await storedAccessToken(harness, harness.idp.accounts[0]!.objectId));
  });

  it('when the refresh fails with invalid_grant, then exit 5 and "sign in again at" the URL', async () => {
    await signIn(harness);
    const user = await harness.database.prisma.user.findFirstOrThrow();
    const sealed = createTokenCipher([harness.config.tokenEncryptionKey]).seal('revoked', tokenContext(user, 'refreshToken'));
    await harness.database.prisma.tokenSet.updateMany({ data: { expiresAt: new Date(Date.now() - 1000), refreshToken: sealed } });
    const result = await runToken(harness, []);
    assert.equal(result.code, EXIT.signInAgain);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`Sign in again at ${harness.baseUrl}/`), result.stderr);
  });

  it('when the database file does not exist, then exit 6 and a message', async () => {
    const result = await runToken(harness, [], { DATABASE_URL: `file:${path.join(os.tmpdir(), 'o365-missing', 'none.db')}` });
    assert.equal(result.code, EXIT.databaseMissing);
    assert.match(result.stderr, /No database at/);
  });

  it('when --user or an unknown option is 100 KB with control characters, then the message quotes at most 80 printable characters of it', async () => {
    const long = `\u001b[2J${'x'.repeat(100_000)}\u0007`;
    const user = await runToken(harness, ['--user', long]);
    assert.equal(user.code, EXIT.noStoredToken);
    assert.ok(user.stderr.includes(`No token is stored for "[2J${'x'.repeat(77)}…": sign in at ${harness.baseUrl}/`), user.stderr);
    const option = await runToken(harness, [`--${'y'.repeat(100_000)}`]);
    assert.equal(option.code, EXIT.usage);
    assert.ok(option.stderr.includes(`Unknown option '--${'y'.repeat(77)}…`), option.stderr.slice(0, 300));
    for (const { stderr } of [user, option]) {
      assert.ok(stderr.length < 2000, `${stderr.length} characters`);
      assert.doesNotMatch(stderr.replaceAll('\n', ''), /\p{Cc}/u, 'no control character but the line ends');
    }
  });

  it('when the demo runs on another address, then npm run token -- --demo names that address and reaches its provider and database', async () => {
    // The demo's own data folder, as npm run demo leaves it: its secrets and the record of the running demo.
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-demo-data-'));
    const secrets = {
      appId: TEST_APP_ID,
      appKey: TEST_APP_KEY,
      sessionSecret: crypto.randomBytes(32).toString('base64url'),
      tokenEncryptionKey: harness.config.tokenEncryptionKey.toString('base64'),
    };
    fs.writeFileSync(path.join(folder, 'demo-secrets.json'), JSON.stringify(secrets));
    const demo = { baseUrl: harness.baseUrl, idpPort: Number(new URL(harness.idp.origin).port), databaseUrl: harness.database.url };
    const runDemoToken = async () => {
      const output = { stdout: '', stderr: '' };
      const code = await runTokenCommand(
        ['--demo'],
        { PATH: process.env.PATH },
        {
          stdout: (text) => {
            output.stdout += text;
          },
          stderr: (text) => {
            output.stderr += text;
          },
        },
        (env) => existingDemoEnvironment(env, folder),
      );
      return { code, ...output };
    };
    const forget = recordDemoRun(demo, folder);
    try {
      assert.notEqual(harness.baseUrl, 'http://127.0.0.1:5000');
      const empty = await runDemoToken();
      assert.equal(empty.code, EXIT.noStoredToken, empty.stderr);
      assert.equal(empty.stderr, `No token is stored: sign in at ${harness.baseUrl}/ first.\n`);

      await signIn(harness);
      await harness.database.prisma.tokenSet.updateMany({ data: { expiresAt: new Date(Date.now() + 60_000) } });
      const refreshed = await runDemoToken();
      assert.equal(refreshed.code, EXIT.ok, refreshed.stderr);
      assert.equal(
        refreshed.stdout,
        `${harness.idp.issuedAccessTokens.at(-1)}\n`,
        "refreshed at the demo's provider, read from its database",
      );
    } finally {
      forget();
    }
    assert.deepEqual(fs.readdirSync(folder), ['demo-secrets.json'], 'the record goes when the demo stops');

    // A record left by a demo that was killed names a process that has ended: it is ignored.
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(folder, 'demo-running.json'), JSON.stringify({ ...demo, pid: ended }));
    const stale = await runDemoToken();
    assert.doesNotMatch(stale.stderr, new RegExp(harness.baseUrl));
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('when the settings are invalid, then exit 7 with the settings messages; bad options exit 2', async () => {
    const invalid = await runToken(harness, [], { O365_APP_ID: 'not-a-guid' });
    assert.equal(invalid.code, EXIT.badConfiguration);
    assert.match(invalid.stderr, /O365_APP_ID "not-a-guid" is not a GUID/);
    const usage = await runToken(harness, ['--bogus']);
    assert.equal(usage.code, EXIT.usage);
    assert.match(usage.stderr, /Usage: npm run -s token/);
  });
});

describe('npm run token for other resources', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await harness.database.prisma.user.deleteMany();
    harness.idp.revokeConsent();
  });

  it("when --resource names Outlook, then stdout is Outlook's token alone; a second run takes it from the store without asking Microsoft", async () => {
    await signIn(harness);
    const first = await runToken(harness, ['--resource', 'https://outlook.office.com']);
    assert.equal(first.code, EXIT.ok, first.stderr);
    assert.equal(first.stderr, '');
    const token = first.stdout.trim();
    assert.equal(first.stdout, `${token}\n`);
    assert.equal(claimsOf(token).aud, 'https://outlook.office.com');
    assert.equal(harness.idp.tokenRequests.at(-1)!.scope, 'openid profile offline_access https://outlook.office.com/.default');
    const count = harness.idp.tokenRequestCount();
    const second = await runToken(harness, ['--scope', 'https://outlook.office.com/.default']);
    assert.equal(second.stdout, first.stdout);
    assert.equal(harness.idp.tokenRequestCount(), count, 'cached per resource and scopes');
    assert.notEqual((await runToken(harness, [])).stdout, first.stdout, 'plain npm run token keeps printing the default token');
  });

  it('when --scope and --json are given, then the JSON adds resource, scopes and expiresOn; the default scopes give the default token', async () => {
    await signIn(harness);
    const result = await runToken(harness, ['--scope', 'https://management.azure.com/user_impersonation', '--json']);
    assert.equal(result.code, EXIT.ok, result.stderr);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(printed.resource, 'https://management.azure.com');
    assert.deepEqual(printed.scopes, ['https://management.azure.com/user_impersonation']);
    assert.equal(printed.expiresOn, printed.expiresAt);
    assert.ok(Date.parse(printed.expiresOn as string) > Date.now());
    assert.equal(claimsOf(printed.accessToken as string).aud, 'https://management.azure.com');
    const count = harness.idp.tokenRequestCount();
    const graph = await runToken(harness, ['--scope', 'User.Read', '--json']);
    assert.equal(harness.idp.tokenRequestCount(), count);
    const defaultToken = JSON.parse(graph.stdout) as Record<string, unknown>;
    assert.equal(defaultToken.accessToken, await storedAccessToken(harness, harness.idp.accounts[0]!.objectId));
    assert.equal(defaultToken.resource, 'https://graph.microsoft.com');
  });

  it('when --scope names two resources, then exit 2 before any settings, database or request, with the one-resource message', async () => {
    const count = harness.idp.tokenRequestCount();
    const result = await runToken(
      harness,
      ['--scope', 'https://outlook.office.com/Mail.Read https://management.azure.com/user_impersonation'],
      {
        DATABASE_URL: `file:${path.join(os.tmpdir(), 'o365-missing', 'none.db')}`,
      },
    );
    assert.equal(result.code, EXIT.usage);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /more than one resource \(https:\/\/outlook\.office\.com and https:\/\/management\.azure\.com\)/);
    assert.match(result.stderr, /AADSTS28000/);
    assert.equal(harness.idp.tokenRequestCount(), count);
    assert.equal((await runToken(harness, ['--scope', 'User.Read', '--resource', 'https://outlook.office.com'])).code, EXIT.usage);
  });

  it("when the resource needs consent (AADSTS65001), then exit 9, stderr names AADSTS65001 and prints the admin-consent link of the user's tenant; nothing is stored, and an administrator's answer to the link is accepted once", async () => {
    await signIn(harness);
    // The lease taken and given back moves updatedAt (the token set's version); the tokens themselves stay.
    const tokenColumns = { accessToken: true, refreshToken: true, idToken: true, needsSignIn: true, refreshLeaseUntil: true } as const;
    const before = await harness.database.prisma.tokenSet.findFirstOrThrow({ select: tokenColumns });
    const result = await runToken(harness, ['--resource', 'https://contoso.sharepoint.com']);
    assert.equal(result.code, EXIT.consentRequired);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /AADSTS65001/);
    const link = new URL(result.stderr.match(/^ {2}(http\S+adminconsent\S+)$/m)![1]!);
    assert.equal(link.pathname, `/${harness.idp.tenantId}/v2.0/adminconsent`, 'the user’s tenant, never common');
    assert.equal(link.searchParams.get('client_id'), TEST_APP_ID);
    assert.equal(link.searchParams.get('scope'), 'https://contoso.sharepoint.com/.default');
    assert.equal(link.searchParams.get('redirect_uri'), `${harness.baseUrl}/connect/get_token`);
    assert.deepEqual(await harness.database.prisma.tokenSet.findFirstOrThrow({ select: tokenColumns }), before, 'the grant is untouched');
    assert.equal(await harness.database.prisma.resourceToken.count(), 0);

    // An administrator opens the link in their own browser and approves.
    const admin = harness.idp.accounts.find((account) => account.username === 'megan@contoso.test')!;
    const adminsBrowser = harness.browser();
    const answerUrl = await answerAdminConsentPage(adminsBrowser, link.href, admin, 'accept');
    const answer = await adminsBrowser.request(answerUrl);
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
    assert.match(answer.body, /Admin consent granted/);
    assert.match(answer.body, /Run the command again/);
    assert.equal((await adminsBrowser.request(answerUrl)).status, 400, 'once');
    const again = await runToken(harness, ['--resource', 'https://contoso.sharepoint.com']);
    assert.equal(again.code, EXIT.ok, again.stderr);
    assert.equal(claimsOf(again.stdout.trim()).aud, 'https://contoso.sharepoint.com');
    harness.idp.setResourceConsent('https://contoso.sharepoint.com', 'none');
  });

  it('when a personal account asks for Azure Resource Manager, then exit 10 with AADSTS70011 and the fix', async () => {
    await signIn(harness, harness.idp.accounts.find((account) => account.tenantId === '9188040d-6c67-4c5b-b112-36a304b66dad')!);
    const result = await runToken(harness, ['--resource', 'https://management.azure.com/']);
    assert.equal(result.code, EXIT.scopesRefused);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /AADSTS70011/);
    assert.match(result.stderr, /does not accept personal Microsoft accounts/);
  });
});
