import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IdpFault } from '../../dev/idp/index.ts';
import { startHarness } from '../support/harness.ts';
import { signIn } from '../support/outcomes.ts';
import { readTestRun, removeTestRun, testLogFile } from '../support/test-log.ts';

describe('S35. logs of the whole run', () => {
  after(() => { removeTestRun(); });

  it('S35: when the suite has run, then the captured logs contain no code, verifier, client secret, Authorization header, token or session cookie', async () => {
    // This file runs last; it adds a few flows of its own so that it checks something even when run alone.
    const harness = await startHarness();
    try {
      assert.equal((await signIn(harness)).callback.status, 303);
      for (const fault of ['token-invalid-client', 'token-html', 'id-token-wrong-nonce', 'response-no-id-token'] satisfies IdpFault[]) {
        harness.idp.setFault(fault);
        assert.ok((await signIn(harness)).callback.status >= 400);
      }
    } finally {
      await harness.close();
    }

    const { logText, secrets } = readTestRun();
    const lines = logText.split('\n').filter(Boolean);
    assert.ok(lines.length >= 10, `the run's log (${testLogFile()}) has lines`);
    assert.ok(secrets.length >= 20, 'secrets were recorded');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), 'every line is one JSON object');
    const leaked = secrets.filter((secret) => logText.includes(secret));
    assert.deepEqual(leaked.map((secret) => `${secret.slice(0, 6)}… (${secret.length} chars)`), [], 'no recorded secret appears in the logs');
    assert.doesNotMatch(logText, /Bearer\s+[A-Za-z0-9._~+/-]{16,}/i, 'no Authorization header value');
    assert.doesNotMatch(logText, /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, 'no JWT of any kind');
    assert.doesNotMatch(logText, /[?&](code|state|code_verifier|client_secret)=[^&"\s]{8,}/, 'no code, state, verifier or secret in a logged URL');
    assert.doesNotMatch(logText, /o365signin\.sid=s%3A/, 'no session cookie');
  });
});
