import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IdpFault } from '../../dev/idp/index.ts';
import { createLogger } from '../../src/log.ts';
import { clientSecretOf, startHarness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { signIn } from '../support/outcomes.ts';
import { isRequestLine, readTestRun, removeTestRun, testLogFile } from '../support/test-log.ts';

/** No recorded secret, Authorization value, JWT, secret-bearing URL parameter or session cookie in the log text. */
function assertNoSecretsLogged(logText: string, secrets: readonly string[]): void {
  for (const line of logText.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), 'every line is one JSON object');
  const leaked = secrets.filter((secret) => logText.includes(secret));
  assert.deepEqual(
    leaked.map((secret) => `${secret.slice(0, 6)}… (${secret.length} chars)`),
    [],
    'no recorded secret appears in the logs',
  );
  assert.doesNotMatch(logText, /Bearer\s+[A-Za-z0-9._~+/-]{16,}/i, 'no Authorization header value');
  assert.doesNotMatch(logText, /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, 'no JWT of any kind');
  assert.doesNotMatch(
    logText,
    /[?&](code|state|code_verifier|client_secret)=[^&"\s]{8,}/,
    'no code, state, verifier or secret in a logged URL',
  );
  assert.doesNotMatch(logText, /o365signin\.sid=s%3A/, 'no session cookie');
  assert.doesNotMatch(logText, /get_token\?/, 'no query string of the callback, whatever it holds');
}

function csrfOf(body: string): string {
  return body.match(/name="_csrf" value="([^"]+)"/)![1]!;
}

describe('S35. logs', () => {
  after(() => {
    removeTestRun();
  });

  it('S35: when secret-named fields reach the logger, nested in objects and arrays too, then their values are redacted and the other fields kept', () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line));
    const secret = (name: string) => `${name}-value-that-must-not-be-logged`;
    logger.warn('a careless call', {
      code: secret('code'),
      refresh_token: secret('refresh'),
      Authorization: `Bearer ${secret('bearer')}`,
      cookie: secret('cookie'),
      request: {
        body: { client_secret: secret('client'), code_verifier: secret('verifier') },
        headers: { authorization: secret('header') },
      },
      attempts: [
        { accessToken: secret('access'), idToken: secret('id') },
        { nested: { password: secret('password'), state: secret('state'), nonce: secret('nonce') } },
      ],
      error: 'invalid_grant',
      error_codes: [70008],
      userId: 'user-1',
      status: 400,
    });
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    const valueAt = (path: string) => path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], entry);
    assert.doesNotMatch(lines[0]!, /value-that-must-not-be-logged/);
    for (const path of [
      'code',
      'refresh_token',
      'Authorization',
      'cookie',
      'request.body.client_secret',
      'request.body.code_verifier',
      'request.headers.authorization',
      'attempts.0.accessToken',
      'attempts.0.idToken',
      'attempts.1.nested.password',
      'attempts.1.nested.state',
      'attempts.1.nested.nonce',
    ]) {
      assert.equal(valueAt(path), '[redacted]', path);
    }
    assert.deepEqual(['message', 'level', 'error', 'error_codes', 'userId', 'status'].map(valueAt), [
      'a careless call',
      'warn',
      'invalid_grant',
      [70008],
      'user-1',
      400,
    ]);
  });

  it('S35: when a sign-in, refreshes, a Graph check, sign-out and failed sign-ins have run (and, in a full run, the whole suite), then the logs contain no code, verifier, client secret, Authorization header, token or session cookie', async () => {
    const harness = await startHarness();
    const browsers: HttpBrowser[] = [];
    try {
      const { browser, callback } = await signIn(harness);
      browsers.push(browser);
      assert.equal(callback.status, 303);
      const csrf = csrfOf((await browser.request(`${harness.baseUrl}/`)).body);
      assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 303);
      harness.idp.setFault('token-server-error');
      assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 303);
      harness.idp.setFault(null);
      assert.equal((await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } })).status, 303);
      assert.equal((await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } })).status, 303);

      for (const fault of [
        'token-invalid-client',
        'token-invalid-grant',
        'token-html',
        'id-token-wrong-nonce',
        'id-token-bad-signature',
        'response-no-id-token',
      ] satisfies IdpFault[]) {
        harness.idp.setFault(fault);
        const failed = await signIn(harness);
        browsers.push(failed.browser);
        assert.ok(failed.callback.status >= 400);
      }
      harness.idp.setFault(null);
      const forged = harness.browser();
      browsers.push(forged);
      const callbackUrl = new URL(await harness.authorize(forged));
      callbackUrl.searchParams.set('state', 'forged-state-value');
      assert.equal((await forged.request(callbackUrl.href)).status, 400);
    } finally {
      await harness.close();
    }

    const ownLog = harness.logs.join('');
    const callbackLines = harness.logs
      .filter(isRequestLine)
      .map((line) => JSON.parse(line) as { route: string })
      .filter((line) => line.route === '/connect/get_token');
    assert.ok(callbackLines.length >= 8, 'each callback was logged as a request, by its path');
    for (const message of ['signed in', 'token refreshed', 'refresh failed', 'This sign-in link is invalid or has expired']) {
      assert.ok(
        harness.logs.some((line) => (JSON.parse(line) as { message: string }).message === message),
        `the flows logged "${message}"`,
      );
    }
    const ownSecrets = [
      ...harness.idp.issuedSecrets,
      ...browsers.flatMap((browser) => browser.seenCookieValues()),
      clientSecretOf(harness.config),
      harness.config.sessionSecret,
      harness.config.tokenEncryptionKey.toString('base64'),
    ].filter((value) => value.length >= 8);
    assert.ok(ownSecrets.length >= 20, 'codes, verifiers, tokens, cookies and the client secret were recorded');
    assertNoSecretsLogged(ownLog, ownSecrets);

    const run = readTestRun();
    assert.ok(run.logText.includes(harness.logs[0]!), `this file's lines are in the run's log (${testLogFile()})`);
    assertNoSecretsLogged(run.logText, run.secrets);
  });
});
