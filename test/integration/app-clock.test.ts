import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { signIn, useHarness } from '../support/outcomes.ts';
import { readStoredTokens } from '../support/stored-tokens.ts';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

describe("the app reads time from its injected clock (createApp's now) for token expiry, refresh and stored times", () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  /** Moves the clock 40 minutes in two steps, viewing the page after each so the session stays alive (30-minute idle timeout). */
  async function viewForFortyMinutes(browser: HttpBrowser): Promise<void> {
    for (const step of [20 * MINUTE, 20 * MINUTE]) {
      harness.clock.advance(step);
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    }
  }

  it("when the clock comes within five minutes of the access token's expiry, then the page view refreshes it, and none before", async () => {
    const { browser } = await signIn(harness);
    const signedIn = await readStoredTokens(harness);
    const count = harness.idp.tokenRequestCount();
    await viewForFortyMinutes(browser);
    assert.equal(harness.idp.tokenRequestCount(), count, 'twenty minutes left: no refresh');

    harness.clock.advance(16 * MINUTE);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(harness.idp.tokenRequestCount(), count + 1, 'four minutes left: one refresh');
    const refreshed = await readStoredTokens(harness);
    assert.notEqual(refreshed.accessToken, signedIn.accessToken);
    assert.ok(page.body.includes(refreshed.accessToken), 'the page shows the new token');
    assert.ok(Math.abs(refreshed.row.expiresAt.getTime() - (harness.clock.now() + HOUR)) < MINUTE, 'its expiry counts from the clock');
  });

  it('when the clock passes the expiry and Microsoft cannot refresh, then the page marks the token expired', async () => {
    const { browser } = await signIn(harness);
    await viewForFortyMinutes(browser);
    harness.idp.setFault('token-server-error');
    harness.clock.advance(21 * MINUTE);
    const page = await browser.request(`${harness.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in as/);
    assert.match(page.body, /\(expired\)/);
  });

  it('when the clock is a day ahead, then a sign-in stores its times and expiry by that clock', async () => {
    harness.clock.advance(25 * HOUR);
    assert.equal((await signIn(harness)).callback.status, 303);
    const { row } = await readStoredTokens(harness);
    assert.ok(Math.abs(row.updatedAt.getTime() - harness.clock.now()) < MINUTE, `updatedAt ${row.updatedAt.toISOString()}`);
    assert.ok(Math.abs(row.expiresAt.getTime() - (harness.clock.now() + HOUR)) < MINUTE, `expiresAt ${row.expiresAt.toISOString()}`);
  });
});
