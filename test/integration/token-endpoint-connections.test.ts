import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Harness } from '../support/harness.ts';
import { signIn, useHarness } from '../support/outcomes.ts';

describe('connections to the token endpoint', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when two people sign in one after the other, then the second code exchange goes over the connection of the first (kept alive, no new connection per sign-in)', async () => {
    for (let person = 0; person < 2; person += 1) assert.equal((await signIn(harness)).callback.status, 303);
    const [first, second] = harness.idp.tokenRequests.slice(-2);
    assert.equal(first?.status, 200);
    assert.equal(second?.status, 200);
    assert.ok(first.clientPort !== undefined);
    assert.equal(second.clientPort, first.clientPort, 'the same TCP connection');
  });

  it('when the provider closed the kept connection meanwhile, then the next sign-in opens a new one and succeeds', async () => {
    assert.equal((await signIn(harness)).callback.status, 303);
    harness.idp.closeIdleConnections();
    assert.equal((await signIn(harness)).callback.status, 303);
    const [first, second] = harness.idp.tokenRequests.slice(-2);
    assert.equal(second?.status, 200);
    assert.notEqual(second.clientPort, first?.clientPort, 'a new connection');
  });
});
