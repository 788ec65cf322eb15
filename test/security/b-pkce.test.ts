import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { Harness } from '../support/harness.ts';
import { assertNothingHappened, useHarness } from '../support/outcomes.ts';

describe('B. PKCE', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('S9: when /connect sends the browser to Microsoft, then every request carries a 43-character S256 code_challenge of the stored verifier', async () => {
    const browser = harness.browser();
    const challenges = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const connect = await browser.request(`${harness.baseUrl}/connect`);
      assert.equal(connect.status, 302);
      const query = new URL(connect.location!).searchParams;
      assert.equal(query.get('code_challenge_method'), 'S256', 'Entra treats a missing method as plain');
      assert.match(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(query.getAll('code_challenge').length, 1);
      assert.equal(query.get('response_type'), 'code');
      assert.equal(query.get('response_mode'), 'query');
      challenges.add(query.get('code_challenge')!);
    }
    assert.equal(challenges.size, 20);
    const row = await harness.database.prisma.session.findFirstOrThrow();
    const { pendingSignIns } = JSON.parse(row.data) as { pendingSignIns: { codeVerifier: string }[] };
    for (const { codeVerifier } of pendingSignIns) {
      assert.ok(
        challenges.has(crypto.createHash('sha256').update(codeVerifier).digest('base64url')),
        'the challenge is SHA-256 of the stored verifier',
      );
    }
  });

  it('S9: when the token endpoint fails, then the app does not retry, with or without PKCE', async () => {
    harness.idp.setFault('token-server-error');
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const before = harness.idp.tokenRequestCount();
    const page = await browser.request(callbackUrl);
    assert.equal(page.status, 503);
    assert.equal(harness.idp.tokenRequestCount(), before + 1);
  });

  it("S10: when a sign-in succeeds, then the token request carried this browser's stored verifier, whose S256 is the challenge the code was issued for", async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    const row = await harness.database.prisma.session.findFirstOrThrow();
    const [pending] = (JSON.parse(row.data) as { pendingSignIns: { codeVerifier: string }[] }).pendingSignIns;
    const requestsBefore = harness.idp.tokenRequests.length;
    assert.equal((await browser.request(callbackUrl)).status, 303);
    const [request, ...others] = harness.idp.tokenRequests.slice(requestsBefore);
    assert.equal(others.length, 0);
    assert.equal(request!.grantType, 'authorization_code');
    assert.equal(request!.status, 200);
    assert.equal(request!.codeVerifier, pending!.codeVerifier, 'the verifier kept server-side for this sign-in');
    assert.match(request!.codeChallenge ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(crypto.createHash('sha256').update(request!.codeVerifier!).digest('base64url'), request!.codeChallenge);
  });

  it("S10: when a code bound to another challenge arrives with this browser's valid state (code injection), then the token endpoint refuses it (AADSTS501481) and the page says start again", async () => {
    const attacker = harness.browser();
    const attackersCode = new URL(await harness.authorize(attacker, harness.idp.accounts[1])).searchParams.get('code')!;
    const victim = harness.browser();
    const victimsCallback = new URL(await harness.authorize(victim, harness.idp.accounts[0]));
    victimsCallback.searchParams.set('code', attackersCode);
    const page = await victim.request(victimsCallback.href);
    assert.equal(page.status, 400);
    assert.match(page.body, /Start the sign-in again/);
    assert.match(page.body, /AADSTS501481/);
    assert.match(page.body, /href="\/connect"/);
    await assertNothingHappened(harness, victim);
  });
});
