import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findSecretComparisons, findSecretComparisonsIn, isSecretName } from '../support/secret-comparisons.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Plain comparisons of secrets, each as the mutation "equalInConstantTime replaced by ===" (or a search) would write it. */
const PLAIN_COMPARISONS = [
  // web/csrf.ts: the session's token and the form's, through local names that do not say "csrf".
  `const expected = req.session.csrfToken;
   const sent: unknown = (req.body as Record<string, unknown> | undefined)?._csrf;
   if (expected === undefined || typeof sent !== 'string') return false;
   return sent === expected;`,
  `const { csrfToken: expected } = req.session; return expected == String(body._csrf);`,
  // auth/pending-sign-ins.ts: the callback's state against each pending one.
  'const signIn = (pending ?? []).find((item) => item.state === state);',
  'const found = pending.map((item) => item.state).indexOf(state);',
  'if ([...states].includes(req.query.state)) {}',
  'if (byState.get(state) !== undefined) {}',
  // auth/id-token-checks.ts: the nonce.
  "if (typeof claims.nonce !== 'string' || claims.nonce !== expectedNonce) throw invalidIdToken('nonce');",
  'if (claims.nonce.trim() != expectedNonce) throw x;',
  // keys and secrets.
  'const presented = header.slice(7); if (presented === config.appKey) {}',
  'if (Buffer.compare(Buffer.from(given), config.tokenEncryptionKey) === 0) {}',
  'if (Object.is(body.client_secret, secret)) {}',
  'if (presented === API_KEY) {}',
  'if (codeVerifier.startsWith(posted)) {}',
  'switch (state) { default: }',
];

/** Presence, type and length checks, constant-time calls, lookups that are not secrets, and text in comments, strings and patterns. */
const NOT_COMPARISONS_OF_SECRETS = [
  "if (expected === undefined || typeof sent !== 'string') return false;",
  'return equalInConstantTime(sent, expected);',
  'const signIn = (pending ?? []).find((item) => equalInConstantTime(item.state, state));',
  'if (state === undefined) throw invalidCallback();',
  "if (keys.some((key) => key.length !== 32)) throw new Error('32 bytes');",
  'return users.find((user) => user.username.toLowerCase() === key);',
  "if (header.alg === 'none' || claims.aud !== clientId) throw x;",
  "if (params.get('state') === null) {}",
  'const remaining = pending.filter((item) => item !== signIn);',
  "// a comment: if (state === sent) …\nconst text = 'state === sent';",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template literal, to be scanned
  'const pattern = /state === sent/; const template = `${state} === ${sent}`;',
  "if (config.tokenEncryptionKey.length === 32 && nonce !== '') {}",
  // PostgreSQL's SQLSTATE, looked up among constant codes.
  "if (RETRYABLE_STATES.has(state) || state === '53300') return 'busy';",
];

describe('S8: comparisons of secrets', () => {
  it('when a CSRF token, state, nonce, PKCE verifier or key is compared with ===, !=, includes, indexOf, get, compare … (fixtures), then the scan finds it', () => {
    for (const source of PLAIN_COMPARISONS) {
      assert.equal(findSecretComparisons(source).length, 1, `not found in: ${source}`);
    }
  });

  it('when a secret is only checked for presence, type or length, or compared with equalInConstantTime, or the text is in a comment or string, then the scan finds nothing', () => {
    for (const source of NOT_COMPARISONS_OF_SECRETS) {
      assert.deepEqual(findSecretComparisons(source), [], source);
    }
  });

  it('when the names of the secrets are read, then csrfToken, _csrf, state, nonce, codeVerifier, appKey, client_secret and TOKEN_ENCRYPTION_KEY are secrets, and kid, keyId, key and O365_APP_CERT_KEY_PATH are not', () => {
    for (const name of ['csrfToken', '_csrf', 'state', 'expectedNonce', 'codeVerifier', 'appKey', 'client_secret', 'TOKEN_ENCRYPTION_KEY'])
      assert.equal(isSecretName(name), true, name);
    for (const name of ['kid', 'keyId', 'key', 'keys', 'O365_APP_CERT_KEY_PATH', 'stateless', 'userId'])
      assert.equal(isSecretName(name), false, name);
  });

  it('S8: when src/ compares a CSRF token, state, nonce, PKCE verifier or key, then only with equalInConstantTime (never ===, !==, ==, !=, includes, indexOf …)', () => {
    const { files, comparisons } = findSecretComparisonsIn(SRC);
    for (const file of ['web/csrf.ts', 'auth/pending-sign-ins.ts', 'auth/id-token-checks.ts', 'auth/oauth-client.ts', 'config.ts']) {
      assert.ok(
        files.some((name) => name.endsWith(file)),
        `${file} is scanned`,
      );
    }
    assert.deepEqual(
      comparisons.map((comparison) => `${comparison.file}:${comparison.line}  ${comparison.text}`),
      [],
      'use equalInConstantTime (src/constant-time.ts) for these',
    );
  });
});
