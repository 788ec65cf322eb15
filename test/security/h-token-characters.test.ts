import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdpFault } from '../../dev/idp/index.ts';
import { isRefreshError, refreshProblemOf } from '../../src/tokens/token-service.ts';
import type { Harness } from '../support/harness.ts';
import { assertFailSafePage, assertNothingHappened, signIn, useHarness } from '../support/outcomes.ts';
import { curlArgumentsOf, unescapeHtml } from '../support/shell.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';

describe('H. an access token is an RFC 6750 token, and the curl line keeps it one argument', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  for (const fault of ['response-quote-access-token', 'response-markup-access-token'] satisfies IdpFault[]) {
    it(`S39: when the token endpoint answers an access token that is not an RFC 6750 token (${fault.replace(/^response-/, '')}), then 502 "an answer the app cannot use" and nothing is stored`, async () => {
      harness.idp.setFault(fault);
      const { browser, callback } = await signIn(harness);
      harness.idp.setFault(null);
      assertFailSafePage(callback);
      assert.equal(callback.status, 502);
      assert.match(callback.body, /an answer the app cannot use, so nothing was stored/);
      assert.doesNotMatch(callback.body, /INJECTED|<b>/);
      await assertNothingHappened(harness, browser);
    });
  }

  it('S55: when a refresh answers an access token that is not an RFC 6750 token, then that token is never stored: the previous access token stays, the rotated refresh token is kept, and the refresh reports Microsoft unavailable', async () => {
    const { browser } = await signIn(harness);
    const userId = (await harness.database.prisma.user.findFirstOrThrow()).id;
    const previous = await readStoredTokens(harness);
    harness.idp.setFault('response-quote-access-token');
    await assert.rejects(
      harness.app.tokenService.getFreshTokens(userId, { force: true }),
      (error) => isRefreshError(error) && refreshProblemOf(error) === 'unavailable',
    );
    harness.idp.setFault(null);
    assert.match(harness.idp.issuedAccessTokens.at(-1)!, /'; echo INJECTED/, 'the provider did answer with the quote');

    const stored = await readStoredTokens(harness);
    assert.equal(stored.accessToken, previous.accessToken, 'the previous access token stays');
    assert.deepEqual([stored.row.expiresAt, stored.row.scopes], [previous.row.expiresAt, previous.row.scopes], 'with its own expiry');
    assert.notEqual(stored.refreshToken, previous.refreshToken, 'the rotated refresh token is stored');
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.ok(page.body.includes(`>${previous.accessToken}</textarea>`));
    assert.doesNotMatch(page.body, /INJECTED/);

    // The local provider, like a strict one, refuses a spent refresh token: only the kept one refreshes now.
    const count = harness.idp.tokenRequestCount();
    const next = await harness.app.tokenService.getFreshTokens(userId, { force: true });
    assert.equal(next.refreshed, true, 'the kept refresh token is the live one');
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal((await readStoredTokens(harness)).accessToken, harness.idp.issuedAccessTokens.at(-1));
  });

  it('S34: when a stored access token is not an RFC 6750 token (written behind the app\'s back), then the page shows no token and no Copy buttons, only "Sign in again"', async () => {
    const { browser } = await signIn(harness);
    const { seal } = await readStoredTokens(harness);
    await harness.database.prisma.tokenSet.updateMany({
      data: { accessToken: seal('accessToken', "eyJhbGciOi.eyJhdWQiOi.c2ln'; echo INJECTED; '") },
    });
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Sign in again/);
    assert.doesNotMatch(page.body, /id="access-token"|data-copy|INJECTED/);
  });

  it('S34: when signed in, then the "Copy as curl" line, run by a POSIX shell, hands curl exactly the stored token and the Graph URL', async () => {
    const { browser } = await signIn(harness);
    const page = await browser.request(`${harness.baseUrl}/`);
    const attribute = /data-copy-text="([^"]*)"/.exec(page.body)?.[1];
    assert.ok(attribute !== undefined, 'the page offers Copy as curl');
    const { accessToken } = await readStoredTokens(harness);
    assert.deepEqual(curlArgumentsOf(unescapeHtml(attribute)), [
      '-H',
      `Authorization: Bearer ${accessToken}`,
      `${harness.config.graphBaseUrl}/v1.0/me`,
    ]);
  });
});
