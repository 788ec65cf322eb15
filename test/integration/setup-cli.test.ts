import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.ts';
import { readEnvText } from '../../src/setup/env-file.ts';

const SCRIPT = fileURLToPath(new URL('../../src/cli/setup.ts', import.meta.url));
// An absolute loader URL: the child runs in a temporary folder, where a bare `tsx` would not resolve.
const TSX_LOADER = import.meta.resolve('tsx');
const TEMPLATE = fs.readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

const APP_ID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'Xq8Q~setup-test.secret_value-do-not-print';
const VALID_FLAGS = ['--app-id', APP_ID, '--secret', SECRET, '--tenant', 'organizations', '--base-url', 'https://signin.example.com'];
const GRAPH_USER_READ =
  '[{"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","type":"Scope"}]}]';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const folders: string[] = [];
after(() => {
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

function createFolder(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-setup-'));
  folders.push(folder);
  return folder;
}

/** Runs `npm run setup` as a child process in `cwd`, with `input` piped to its stdin (never a terminal). */
function runSetup(cwd: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, SCRIPT, ...args], {
      cwd,
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, NODE_OPTIONS: undefined },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function readEnvFile(folder: string, name = '.env'): Record<string, string> {
  return readEnvText(fs.readFileSync(path.join(folder, name), 'utf8'));
}

function assertSecretNotShown(run: Run): void {
  assert.ok(!run.stdout.includes(SECRET), 'the secret is not on stdout');
  assert.ok(!run.stderr.includes(SECRET), 'the secret is not on stderr');
}

function linesWithoutValues(text: string): string[] {
  return text.split('\n').map((line) => line.replace(/^([A-Z0-9_]+)=.*$/, '$1='));
}

describe('npm run setup', () => {
  it('when run with --yes and valid flags, then .env has those values, fresh keys, mode 0600, and parseConfig accepts it', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, [...VALID_FLAGS, '--yes']);
    assert.equal(run.code, 0, run.stderr);

    const envPath = path.join(folder, '.env');
    const result = parseConfig(readEnvFile(folder));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.deepEqual(
      result.warnings.filter((warning) => /random/.test(warning)),
      [],
      'no random fallback keys',
    );
    assert.equal(result.config.appId, APP_ID);
    assert.deepEqual(result.config.clientCredential, { kind: 'secret', secret: SECRET });
    assert.equal(result.config.tenant, 'organizations');
    assert.equal(result.config.redirectUri, 'https://signin.example.com/connect/get_token');
    const env = readEnvFile(folder);
    assert.equal(Buffer.from(env.SESSION_SECRET!, 'base64url').length, 32);
    assert.match(env.TOKEN_ENCRYPTION_KEY!, /^[A-Za-z0-9+/]{43}=$/);
    if (process.platform !== 'win32') assert.equal(fs.statSync(envPath).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(folder), ['.env'], 'no temporary file is left behind');

    assert.ok(run.stdout.includes(envPath), 'says where .env was written');
    assert.ok(run.stdout.includes('  https://signin.example.com/connect/get_token\n'), 'prints the redirect URI');
    assert.ok(
      run.stdout.includes(
        'az ad app create --display-name o365-signin --sign-in-audience AzureADMultipleOrgs ' +
          `--web-redirect-uris https://signin.example.com/connect/get_token --required-resource-accesses '${GRAPH_USER_READ}' --query appId --output tsv`,
      ),
    );
    assert.ok(
      run.stdout.includes(`az ad app credential reset --id ${APP_ID} --append --display-name o365-signin --query password --output tsv`),
    );
    assert.match(run.stdout, /Next: npm start\n$/);
    assertSecretNotShown(run);
  });

  it('when run with --certificate, then it makes a certificate and key in data/ (0600), .env names them with no secret, parseConfig accepts it, and it prints the az line and the portal path', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, ['--app-id', APP_ID, '--certificate', '--yes']);
    assert.equal(run.code, 0, run.stderr);
    const env = readEnvFile(folder);
    assert.equal(env.O365_APP_KEY, '');
    assert.equal(env.O365_APP_CERT_PATH, './data/o365-signin-certificate.pem');
    assert.equal(env.O365_APP_CERT_KEY_PATH, './data/o365-signin-certificate-key.pem');
    for (const file of ['o365-signin-certificate.pem', 'o365-signin-certificate-key.pem']) {
      assert.equal(fs.statSync(path.join(folder, 'data', file)).mode & 0o777, 0o600, `${file} is 0600`);
    }
    // The app resolves the paths from the folder it runs in, as it does DATABASE_URL's file:./data/app.db.
    const result = parseConfig({
      ...env,
      O365_APP_CERT_PATH: path.join(folder, env.O365_APP_CERT_PATH!),
      O365_APP_CERT_KEY_PATH: path.join(folder, env.O365_APP_CERT_KEY_PATH!),
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.config.clientCredential.kind, 'certificate');
    const thumbprint =
      result.config.clientCredential.kind === 'certificate' ? result.config.clientCredential.certificate.thumbprints.sha1Hex : '';
    assert.ok(
      run.stdout.includes(`  az ad app credential reset --id ${APP_ID} --cert @./data/o365-signin-certificate.pem --append\n`),
      run.stdout,
    );
    assert.ok(run.stdout.includes('Certificates & secrets › Certificates › Upload certificate'));
    assert.ok(run.stdout.includes(`Thumbprint ${thumbprint}`));
    const key = fs.readFileSync(path.join(folder, 'data', 'o365-signin-certificate-key.pem'), 'utf8');
    assert.ok(!run.stdout.includes(key.split('\n')[1]!) && !run.stderr.includes(key.split('\n')[1]!), 'the key is never printed');

    const again = await runSetup(folder, ['--app-id', APP_ID, '--certificate', '--yes', '--force']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Kept the app's certificate/);
    assert.equal(
      fs.readFileSync(path.join(folder, 'data', 'o365-signin-certificate-key.pem'), 'utf8'),
      key,
      'an uploaded certificate stays',
    );
  });

  it('when the secret is left empty at the prompt, then a certificate is made instead, and a bad value elsewhere leaves no certificate behind', async () => {
    const folder = createFolder();
    const refused = await runSetup(folder, ['--app-id', 'not-a-guid', '--certificate', '--yes']);
    assert.equal(refused.code, 1);
    assert.deepEqual(fs.readdirSync(folder), [], 'nothing written, no certificate made');
    const run = await runSetup(folder, ['--interactive'], `${APP_ID}\n\n\n\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /or leave empty to use a certificate instead \(recommended\)/);
    assert.equal(readEnvFile(folder).O365_APP_CERT_PATH, './data/o365-signin-certificate.pem');
    assert.ok(fs.existsSync(path.join(folder, 'data', 'o365-signin-certificate-key.pem')));
  });

  it('when run twice, then each .env gets its own keys', async () => {
    const first = createFolder();
    const second = createFolder();
    const runs = await Promise.all([runSetup(first, [...VALID_FLAGS, '--yes']), runSetup(second, [...VALID_FLAGS, '--yes'])]);
    assert.deepEqual(
      runs.map((run) => run.code),
      [0, 0],
    );
    const [a, b] = [readEnvFile(first), readEnvFile(second)];
    assert.notEqual(a.SESSION_SECRET, b.SESSION_SECRET);
    assert.notEqual(a.TOKEN_ENCRYPTION_KEY, b.TOKEN_ENCRYPTION_KEY);
  });

  it('when written, then its comments, blank lines and variables follow .env.example line for line', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, [...VALID_FLAGS, '--yes']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(linesWithoutValues(fs.readFileSync(path.join(folder, '.env'), 'utf8')), linesWithoutValues(TEMPLATE));
  });

  it('when .env exists and --force is not given, then exit 3 and .env is unchanged', async () => {
    const folder = createFolder();
    fs.writeFileSync(path.join(folder, '.env'), 'O365_APP_ID=keep-me\n');
    const run = await runSetup(folder, [...VALID_FLAGS, '--yes']);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /\.env already exists; left it unchanged\. Run with --force/);
    assert.equal(fs.readFileSync(path.join(folder, '.env'), 'utf8'), 'O365_APP_ID=keep-me\n');
    assert.deepEqual(fs.readdirSync(folder), ['.env']);
    assertSecretNotShown(run);
  });

  it('when .env exists and --force is given, then it is replaced', async () => {
    const folder = createFolder();
    fs.writeFileSync(path.join(folder, '.env'), 'O365_APP_ID=replace-me\n', { mode: 0o644 });
    const run = await runSetup(folder, [...VALID_FLAGS, '--yes', '--force']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readEnvFile(folder).O365_APP_ID, APP_ID);
    if (process.platform !== 'win32') assert.equal(fs.statSync(path.join(folder, '.env')).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(folder), ['.env']);
  });

  it("when values are bad, then exit 1 with parseConfig's messages, one line each, and nothing is written", async () => {
    const folder = createFolder();
    const bad = {
      appId: 'o365-signin',
      appKey: '99999999-8888-7777-6666-555555555555',
      tenant: 'not a tenant',
      baseUrl: 'http://signin.example.com',
    };
    const run = await runSetup(folder, [
      '--app-id',
      bad.appId,
      '--secret',
      bad.appKey,
      '--tenant',
      bad.tenant,
      '--base-url',
      bad.baseUrl,
      '--yes',
    ]);
    assert.equal(run.code, 1);
    const expected = parseConfig({ O365_APP_ID: bad.appId, O365_APP_KEY: bad.appKey, O365_TENANT: bad.tenant, BASE_URL: bad.baseUrl });
    assert.ok(!expected.ok);
    assert.equal(expected.problems.length, 4);
    for (const problem of expected.problems) assert.ok(run.stderr.includes(`  - ${problem}\n`), problem);
    assert.ok(!run.stderr.includes(bad.appKey), 'not even a wrong secret is printed');
    assert.deepEqual(fs.readdirSync(folder), []);
    assert.equal(run.stdout, '');
  });

  it('when stdin is not a terminal and the app id and secret are not given, then no prompt: exit 1 with the "is missing" messages', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, []);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^ {2}- O365_APP_ID is missing: /m);
    assert.match(run.stderr, /^ {2}- O365_APP_KEY is missing: /m);
    assert.deepEqual(fs.readdirSync(folder), []);
  });

  it('when driven through stdin with --interactive, then a bad answer is asked again and .env is written', async () => {
    const folder = createFolder();
    const input = `${['not-a-guid', APP_ID, SECRET, 'consumers', ''].join('\n')}\n`;
    const run = await runSetup(folder, ['--interactive'], input);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /O365_APP_ID "not-a-guid" is not a GUID: /);
    assert.equal(run.stdout.match(/Application \(client\) ID: /g)?.length, 2, 'asked twice for the app id');
    assert.match(run.stdout, /\[common\]: /);
    assert.match(run.stdout, /\[http:\/\/127\.0\.0\.1:5000\]: /);
    const result = parseConfig(readEnvFile(folder));
    assert.ok(result.ok);
    assert.equal(result.config.appId, APP_ID);
    assert.deepEqual(result.config.clientCredential, { kind: 'secret', secret: SECRET });
    assert.equal(result.config.tenant, 'consumers');
    assert.equal(result.config.baseUrl, 'http://127.0.0.1:5000');
    assert.ok(
      run.stdout.includes('--sign-in-audience PersonalMicrosoftAccount --web-redirect-uris http://127.0.0.1:5000/connect/get_token '),
    );
    assertSecretNotShown(run);
  });

  it('when driven through stdin, then flags given are not asked for and a tenant ID means a single-tenant app', async () => {
    const folder = createFolder();
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const run = await runSetup(folder, ['--interactive', '--app-id', APP_ID, '--tenant', tenantId], `${SECRET}\nhttp://localhost:5000\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes('Application (client) ID: '));
    assert.ok(run.stdout.includes(`az login --tenant ${tenantId}\n`));
    assert.ok(run.stdout.includes('--sign-in-audience AzureADMyOrg --web-redirect-uris http://localhost:5000/connect/get_token '));
    assert.equal(readEnvFile(folder).BASE_URL, 'http://localhost:5000');
    assertSecretNotShown(run);
  });

  it('when .env exists and the answer to "Overwrite .env?" is empty, then it is left unchanged and the exit is 0', async () => {
    const folder = createFolder();
    fs.writeFileSync(path.join(folder, '.env'), 'KEEP=1\n');
    const run = await runSetup(folder, ['--interactive'], `\n${APP_ID}\n${SECRET}\n\n\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Overwrite \.env\? \[y\/N\] /);
    assert.match(run.stdout, /Left \.env unchanged\./);
    assert.equal(fs.readFileSync(path.join(folder, '.env'), 'utf8'), 'KEEP=1\n');
  });

  it('when .env exists and the answer to "Overwrite .env?" is y, then it is replaced', async () => {
    const folder = createFolder();
    fs.writeFileSync(path.join(folder, '.env'), 'KEEP=1\n');
    const run = await runSetup(folder, ['--interactive'], `y\n${APP_ID}\n${SECRET}\n\n\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readEnvFile(folder).O365_APP_ID, APP_ID);
  });

  it('when stdin ends before every answer, then exit 1 and nothing is written', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, ['--interactive'], `${APP_ID}\n`);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /input ended before every value was given; nothing written/);
    assert.deepEqual(fs.readdirSync(folder), []);
  });

  it('when --output names a path, then .env is written there', async () => {
    const folder = createFolder();
    const run = await runSetup(folder, [...VALID_FLAGS, '--yes', '--output', 'config/app.env']);
    assert.equal(run.code, 1, 'a missing folder is an error');
    assert.match(run.stderr, /cannot write config\/app\.env: ENOENT/);
    fs.mkdirSync(path.join(folder, 'config'));
    const retry = await runSetup(folder, [...VALID_FLAGS, '--yes', '--output', 'config/app.env']);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(readEnvFile(folder, 'config/app.env').O365_APP_ID, APP_ID);
    assert.deepEqual(fs.readdirSync(folder), ['config']);
  });

  it('when --help is given, then usage and exit 0; when an option is unknown, then exit 2', async () => {
    const folder = createFolder();
    const help = await runSetup(folder, ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: npm run setup -- \[options\]/);
    const unknown = await runSetup(folder, ['--app', APP_ID]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--app'/);
    assert.deepEqual(fs.readdirSync(folder), []);
  });
});
