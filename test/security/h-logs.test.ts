import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdpFault } from '../../dev/idp/index.ts';
import { createLogger } from '../../src/log.ts';
import { clientSecretOf, startHarness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { signIn } from '../support/outcomes.ts';
import { findLoggedSecrets, isRequestLine } from '../support/test-log.ts';

function csrfOf(body: string): string {
  return body.match(/name="_csrf" value="([^"]+)"/)![1]!;
}

// The same search over the logs of every suite is the last step of npm test (scripts/run-tests.ts).
describe('H. logs (S35)', () => {
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

  it('S35: when a sign-in, refreshes, a Graph check, sign-out and failed sign-ins have run, then their logs contain no code, verifier, client secret, Authorization header, token, session cookie or query string of the callback, and each callback was logged as a request by its path', async () => {
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
    assert.deepEqual(findLoggedSecrets(ownLog, ownSecrets), []);
  });
});
