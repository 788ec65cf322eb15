// The app as it is, with the local provider's personal Microsoft account (consumers tenant) signing in through `common`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Harness } from '../support/harness.ts';
import { useHarness } from '../support/outcomes.ts';

const CONSUMERS = '9188040d-6c67-4c5b-b112-36a304b66dad';

describe('sign-in with the personal account pat@outlook.test', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when pat signs in, then the app accepts the consumers-tenant ID token, stores the opaque token, refreshes it and Graph accepts it', async () => {
    const pat = harness.idp.accounts.find((account) => account.tenantId === CONSUMERS);
    assert.ok(pat, 'the provider lists a personal account');
    assert.equal(harness.idp.accounts.at(-1), pat, 'last in the list');
    const browser = harness.browser();
    const callback = await browser.request(await harness.authorize(browser, pat));
    assert.equal(callback.status, 303, callback.body.slice(0, 300));

    const home = await browser.request(`${harness.baseUrl}/`);
    assert.match(home.body, new RegExp(`Signed in as ${pat.displayName}`));
    const user = await harness.database.prisma.user.findFirstOrThrow();
    assert.equal(user.tenantId, CONSUMERS);
    assert.equal(user.objectId, pat.objectId);
    const shown = home.body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
    assert.ok(shown !== undefined && !shown.includes('.'), 'an opaque Graph token, as Microsoft gives personal accounts');

    const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
    assert.ok(csrf);
    assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 303);
    const refreshed = await browser.request(`${harness.baseUrl}/`);
    const newToken = refreshed.body.match(/<textarea id="access-token"[^>]*>([^<]+)<\/textarea>/)?.[1];
    assert.ok(newToken !== undefined && newToken !== shown, 'refreshed, and the refreshed ID token was accepted');

    assert.equal((await browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } })).status, 303);
    const checked = await browser.request(`${harness.baseUrl}/`);
    assert.match(checked.body, /Microsoft Graph accepted the token/);
    assert.ok(checked.body.includes(`<dd>${pat.username}</dd>`));
  });
});
