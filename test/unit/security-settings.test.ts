import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.ts';

const valid = { O365_APP_ID: '11111111-2222-3333-4444-555555555555', O365_APP_KEY: 'a-client-secret-value~with.symbols' };

function problemsOf(env: Record<string, string>): string[] {
  const result = parseConfig({ ...valid, ...env });
  return result.ok ? [] : result.problems;
}

describe('security settings', () => {
  it('when nothing is set, then no proxy is trusted, every tenant is allowed, no previous keys and 60 sign-ins a minute', () => {
    const result = parseConfig(valid);
    assert.ok(result.ok);
    assert.equal(result.config.trustProxy, false);
    assert.equal(result.config.allowedTenants, undefined);
    assert.deepEqual(result.config.previousTokenEncryptionKeys, []);
    assert.equal(result.config.signInRateLimit, 60);
  });

  it('when TRUST_PROXY is a hop count, loopback or addresses, then it is used; "true" or garbage is refused with a fix', () => {
    for (const [value, expected] of [
      ['1', 1],
      ['loopback', 'loopback'],
      ['10.0.0.0/8, 192.168.1.1', '10.0.0.0/8,192.168.1.1'],
    ] as const) {
      const result = parseConfig({ ...valid, TRUST_PROXY: value });
      assert.ok(result.ok);
      assert.equal(result.config.trustProxy, expected);
    }
    for (const value of ['true', 'everyone', '10.0.0.0/99']) {
      assert.match(problemsOf({ TRUST_PROXY: value }).join('\n'), /TRUST_PROXY .* use the number of proxies/);
    }
  });

  it('when BASE_URL is https without TRUST_PROXY, then a warning says the Secure cookie needs it', () => {
    const result = parseConfig({ ...valid, BASE_URL: 'https://signin.example.com' });
    assert.ok(result.ok);
    assert.match(result.warnings.join('\n'), /TRUST_PROXY is not set/);
  });

  it('when previous keys or the tenant list are malformed, then each problem names its variable', () => {
    const key = crypto.randomBytes(32).toString('base64');
    const result = parseConfig({
      ...valid,
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: `${key}, ${key}`,
      O365_ALLOWED_TENANTS: '4B0911A0-929B-4715-944B-C03745165B3A',
    });
    assert.ok(result.ok);
    assert.equal(result.config.previousTokenEncryptionKeys.length, 2);
    assert.deepEqual(result.config.allowedTenants, ['4b0911a0-929b-4715-944b-c03745165b3a']);
    const problems = problemsOf({
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: `${key},short`,
      O365_ALLOWED_TENANTS: 'contoso.com',
      SIGN_IN_RATE_LIMIT: '0',
    }).join('\n');
    assert.match(problems, /TOKEN_ENCRYPTION_KEYS_PREVIOUS entry 2/);
    assert.match(problems, /O365_ALLOWED_TENANTS/);
    assert.match(problems, /SIGN_IN_RATE_LIMIT/);
  });
});
