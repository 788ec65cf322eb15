import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig, parseSettings, settingsSchema } from '../../src/config.ts';
import { demoSettings } from '../../dev/demo-settings.ts';
import { EXIT, runTokenCommand } from '../../src/cli/token-command.ts';

const valid = {
  O365_APP_ID: '11111111-2222-3333-4444-555555555555',
  O365_APP_KEY: 'a-client-secret-value~with.symbols',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.problems;
}

describe('configuration', () => {
  it('when only the app id and secret are set, then the documented defaults fill the rest', () => {
    const result = parseConfig(valid);
    assert.ok(result.ok);
    const { config } = result;
    assert.equal(config.tenant, 'common');
    assert.equal(config.authorityHost, 'https://login.microsoftonline.com');
    assert.deepEqual(config.scopes, ['openid', 'profile', 'offline_access', 'User.Read']);
    assert.equal(config.baseUrl, 'http://127.0.0.1:5000');
    assert.equal(config.redirectUri, 'http://127.0.0.1:5000/connect/get_token');
    assert.equal(config.port, 5000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.databaseUrl, 'file:./data/app.db');
    assert.equal(config.graphBaseUrl, 'https://graph.microsoft.com');
    assert.equal(config.httpTimeoutMs, 10000);
    assert.equal(config.tokenEncryptionKey.length, 32);
    assert.ok(Object.isFrozen(config));
  });

  it('when the secrets are missing outside production, then random ones are used and a warning says so', () => {
    const result = parseConfig(valid);
    assert.ok(result.ok);
    assert.equal(result.warnings.length, 2);
    assert.match(result.warnings.join('\n'), /SESSION_SECRET is not set/);
    assert.match(result.warnings.join('\n'), /TOKEN_ENCRYPTION_KEY is not set/);
  });

  it('when nothing is set, then every required variable is reported at once with where to find it', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    assert.equal(problems.length, 4);
    assert.match(
      problems[0]!,
      /^O365_APP_ID is missing: copy the Application \(client\) ID from Microsoft Entra admin center › App registrations/,
    );
    assert.match(problems[1]!, /^O365_APP_KEY is missing: create a client secret .* Certificates & secrets/);
    assert.match(problems[2]!, /^SESSION_SECRET is missing/);
    assert.match(problems[3]!, /^TOKEN_ENCRYPTION_KEY is missing: .*openssl rand -base64 32/);
  });

  it('when values are malformed, then each gets one line naming the variable and the fix', () => {
    const problems = problemsOf({
      O365_APP_ID: 'my-app',
      O365_APP_KEY: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      O365_TENANT: 'not a tenant',
      O365_AUTHORITY_HOST: 'http://login.microsoftonline.com',
      O365_SCOPES: 'profile User.Read',
      BASE_URL: 'http://signin.example.com/app',
      PORT: '99999',
      DATABASE_URL: 'mysql://user:pw@db/app',
      SESSION_SECRET: 'short',
      TOKEN_ENCRYPTION_KEY: 'dG9vIHNob3J0',
      GRAPH_BASE_URL: 'graph',
      O365_HTTP_TIMEOUT_MS: '10s',
    });
    const names = problems.map((line) => line.split(' ')[0]);
    assert.deepEqual(names, [
      'O365_APP_ID',
      'O365_APP_KEY',
      'O365_TENANT',
      'O365_AUTHORITY_HOST',
      'O365_SCOPES',
      'BASE_URL',
      'PORT',
      'DATABASE_URL',
      'SESSION_SECRET',
      'TOKEN_ENCRYPTION_KEY',
      'GRAPH_BASE_URL',
      'O365_HTTP_TIMEOUT_MS',
    ]);
    assert.match(problems[1]!, /looks like a Secret ID/);
    assert.match(problems[5]!, /must use https unless it is 127\.0\.0\.1 or localhost/);
    assert.ok(!problems.join('\n').includes('pw@'), 'the database password is not echoed');
  });

  it('when BASE_URL has a trailing slash, then the redirect URI has no double slash', () => {
    const result = parseConfig({ ...valid, BASE_URL: 'https://signin.example.com/' });
    assert.ok(result.ok);
    assert.equal(result.config.redirectUri, 'https://signin.example.com/connect/get_token');
  });

  it('when the tenant is a GUID, a domain or an alias, then it is accepted', () => {
    for (const tenant of ['organizations', 'consumers', '72f988bf-86f1-41af-91ab-2d7cd011db47', 'contoso.onmicrosoft.com']) {
      assert.ok(parseConfig({ ...valid, O365_TENANT: tenant }).ok, tenant);
    }
  });

  it('when a local provider on loopback http is named, then it is accepted', () => {
    const result = parseConfig({ ...valid, O365_AUTHORITY_HOST: 'http://127.0.0.1:5001', GRAPH_BASE_URL: 'http://127.0.0.1:5001' });
    assert.ok(result.ok);
    assert.equal(result.config.authorityHost, 'http://127.0.0.1:5001');
  });

  it('when a valid key and secret are given, then they are used as given', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const result = parseConfig({ ...valid, TOKEN_ENCRYPTION_KEY: key, SESSION_SECRET: 'x'.repeat(40), NODE_ENV: 'production' });
    assert.ok(result.ok);
    assert.deepEqual(result.config.tokenEncryptionKey, Buffer.alloc(32, 7));
    assert.equal(result.config.sessionSecret, 'x'.repeat(40));
    assert.deepEqual(result.warnings, []);
  });

  it('when INSTANCE_NAME is set, then it labels the pages; when it is not, then each parse picks a random six-hex-digit id', () => {
    const named = parseConfig({ ...valid, INSTANCE_NAME: 'web-1' });
    assert.ok(named.ok);
    assert.equal(named.config.instanceName, 'web-1');
    const first = parseConfig(valid);
    const second = parseConfig(valid);
    assert.ok(first.ok && second.ok);
    assert.match(first.config.instanceName, /^[0-9a-f]{6}$/);
    assert.notEqual(first.config.instanceName, second.config.instanceName);
  });

  it('when INSTANCE_NAME is too long or not plain printable text, then one line says what it may contain', () => {
    for (const name of ['x'.repeat(33), '<b>web</b>', 'web\u0007one', 'web\nbreak', 'web é', 'web/1']) {
      const problems = problemsOf({ ...valid, INSTANCE_NAME: name });
      assert.equal(problems.length, 1, name);
      assert.match(problems[0]!, /^INSTANCE_NAME "[\x20-\x7e]*" is not valid: use up to 32 letters/);
    }
  });

  it('when TOKEN_ENCRYPTION_KEY is malformed in production, then one line says what a key is, and none says it is missing', () => {
    const problems = problemsOf({ ...valid, NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), TOKEN_ENCRYPTION_KEY: 'dG9vIHNob3J0' });
    assert.deepEqual(problems, [
      'TOKEN_ENCRYPTION_KEY must be 32 random bytes in base64 (44 characters): generate one with `openssl rand -base64 32`.',
    ]);
  });

  it('when a production rule and a bad value meet, then the lines follow the order of the variables', () => {
    const problems = problemsOf({ ...valid, NODE_ENV: 'production', GRAPH_BASE_URL: 'graph', PORT: 'x' });
    assert.deepEqual(
      problems.map((line) => line.split(' ')[0]),
      ['PORT', 'SESSION_SECRET', 'TOKEN_ENCRYPTION_KEY', 'GRAPH_BASE_URL'],
    );
  });
});

describe('the client credential', () => {
  const tokenFile = fileURLToPath(import.meta.url);
  const { O365_APP_KEY: _secret, ...noSecret } = valid;

  it('when only a federated token file is set, then it is the credential; AZURE_FEDERATED_TOKEN_FILE alone counts too', () => {
    const own = parseConfig({ ...noSecret, O365_CLIENT_ASSERTION_FILE: tokenFile });
    assert.ok(own.ok);
    assert.deepEqual(own.config.clientCredential, { kind: 'federated', tokenFile, setting: 'O365_CLIENT_ASSERTION_FILE' });
    const azure = parseConfig({ ...noSecret, AZURE_FEDERATED_TOKEN_FILE: tokenFile });
    assert.ok(azure.ok);
    assert.deepEqual(azure.config.clientCredential, { kind: 'federated', tokenFile, setting: 'AZURE_FEDERATED_TOKEN_FILE' });
  });

  it("when Azure's AZURE_FEDERATED_TOKEN_FILE is set beside a secret, then the secret is used and a warning says the file is not", () => {
    const result = parseConfig({ ...valid, AZURE_FEDERATED_TOKEN_FILE: tokenFile });
    assert.ok(result.ok);
    assert.equal(result.config.clientCredential.kind, 'secret');
    assert.ok(result.warnings.some((warning) => warning.startsWith('AZURE_FEDERATED_TOKEN_FILE is set but not used')));
  });

  it('when a secret and a federated token file are both set, then one line says to choose one', () => {
    assert.deepEqual(
      problemsOf({ ...valid, O365_CLIENT_ASSERTION_FILE: tokenFile }).map((problem) => problem.split(':')[0]),
      ['O365_APP_KEY and O365_CLIENT_ASSERTION_FILE are all set'],
    );
  });

  it('when no credential is set, then the O365_APP_KEY line also names the certificate and the federated token file', () => {
    assert.match(
      problemsOf(noSecret)[0] ?? '',
      /^O365_APP_KEY is missing: .* O365_APP_CERT_PATH and O365_APP_CERT_KEY_PATH .* O365_CLIENT_ASSERTION_FILE/,
    );
  });

  it('when O365_CLIENT_ASSERTION_ALG is neither PS256 nor RS256, then one line says so', () => {
    assert.deepEqual(problemsOf({ ...valid, O365_CLIENT_ASSERTION_ALG: 'ES256' }), [
      'O365_CLIENT_ASSERTION_ALG "ES256" is not valid: use PS256 (what Microsoft documents, the default) or RS256.',
    ]);
  });
});

describe('settings of one entry point', () => {
  it('when a script picks DATABASE_URL, then only it is checked, with the line npm start gives, and its default fills it', () => {
    const databaseOnly = settingsSchema.pick({ DATABASE_URL: true });
    const bad = { O365_APP_ID: 'not-a-guid', DATABASE_URL: 'mysql://user:pw@db/app' };
    const startLine = problemsOf(bad).find((line) => line.startsWith('DATABASE_URL'));
    assert.deepEqual(parseSettings(databaseOnly, bad), { ok: false, problems: [startLine] });
    assert.deepEqual(parseSettings(databaseOnly, { DATABASE_URL: '  ' }), { ok: true, settings: { DATABASE_URL: 'file:./data/app.db' } });
  });

  it('when DEMO_IDP_PORT is not a port, then the demo refuses it in one line instead of pointing the app at a broken address', () => {
    for (const port of ['5001x', '70000', 'abc']) {
      const problems = [`DEMO_IDP_PORT "${port}" is not valid: use a port number such as 5001.`];
      assert.deepEqual(demoSettings({ DEMO_IDP_PORT: port }), { ok: false, problems });
    }
  });

  it('when npm run token -- --demo meets a bad demo setting, then it exits with the settings code and prints the line', async () => {
    let stderr = '';
    const io = {
      stdout: () => {},
      stderr: (text: string) => {
        stderr += text;
      },
    };
    const problems = ['DEMO_IDP_PORT "x" is not valid: use a port number such as 5001.'];
    const code = await runTokenCommand(['--demo'], {}, io, () => ({ ok: false, problems }));
    assert.equal(code, EXIT.badConfiguration);
    assert.match(stderr, /^The settings are not valid \(see \.env\.example\):\n {2}- DEMO_IDP_PORT "x" is not valid/);
  });
});
