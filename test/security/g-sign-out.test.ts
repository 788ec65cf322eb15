import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { SESSION_COOKIE, assertSignedOut, resetHarness, signIn } from '../support/outcomes.ts';

describe('G. sign-out', () => {
  let harness: Harness;
  before(async () => { harness = await startHarness(); });
  after(async () => { await harness.close(); });
  beforeEach(async () => { await resetHarness(harness); });

  it('S32: when sign-out comes as GET or as a POST without this session\'s CSRF token, then nothing changes; the form\'s POST destroys the session and the old cookie is anonymous', async () => {
    const { browser } = await signIn(harness);
    const other = await signIn(harness, harness.idp.accounts[1]);
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.equal(home.headers.get('cache-control'), 'no-store', 'Back cannot show a cached token page');
    const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const othersCsrf = (await other.browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const cookie = browser.cookie(SESSION_COOKIE)!;

    const getOut = await browser.request(`${harness.baseUrl}/logout?_csrf=${csrf}`);
    assert.equal(getOut.status, 405);
    const forms: Record<string, string>[] = [{}, { _csrf: 'forged' }, { _csrf: othersCsrf }];
    for (const form of forms) {
      const crossSite = await browser.request(`${harness.baseUrl}/logout`, { method: 'POST', form, headers: { origin: 'https://evil.example' } });
      assert.equal(crossSite.status, 403);
    }
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'still signed in');
    assert.equal(await harness.database.prisma.session.count(), 2);

    const out = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('cache-control'), 'no-store');
    assert.match(out.headers.getSetCookie().join(';'), new RegExp(`${SESSION_COOKIE}=;`), 'the cookie is cleared');
    assert.equal(await harness.database.prisma.session.count(), 1, 'only the other person\'s session is left');
    const replay = harness.browser();
    replay.setCookie(SESSION_COOKIE, cookie);
    await assertSignedOut(harness, replay);
    assert.match((await other.browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
  });
});
