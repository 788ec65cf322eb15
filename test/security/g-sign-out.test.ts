import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { countRows } from '../support/database.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { SESSION_COOKIE, assertSignedOut, sessionRowOf, signIn, useHarness } from '../support/outcomes.ts';

describe('G. sign-out', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it("S32: when sign-out comes as GET or as a POST without this session's CSRF token, then nothing changes; the form's POST destroys the session and the old cookie is anonymous", async () => {
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
      const crossSite = await browser.request(`${harness.baseUrl}/logout`, {
        method: 'POST',
        form,
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(crossSite.status, 403);
    }
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'still signed in');
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 2);

    const out = await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('cache-control'), 'no-store');
    assert.match(out.headers.getSetCookie().join(';'), new RegExp(`${SESSION_COOKIE}=;`), 'the cookie is cleared');
    assert.equal(
      await harness.database.prisma.session.count({ where: { destroyed: false } }),
      1,
      "only the other person's session is left",
    );
    const replay = harness.browser();
    replay.setCookie(SESSION_COOKIE, cookie);
    await assertSignedOut(harness, replay);
    assert.match((await other.browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
  });

  it('S32: when "Forget my token" comes as GET or as a POST without this session\'s CSRF token, then 403 and nothing is deleted; the form\'s POST deletes the user, the tokens and the session', async () => {
    const { browser } = await signIn(harness);
    const other = await signIn(harness, harness.idp.accounts[1]);
    const csrf = (await browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const othersCsrf = (await other.browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;

    assert.equal((await browser.request(`${harness.baseUrl}/forget?_csrf=${csrf}`)).status, 405);
    const forms: Record<string, string>[] = [{}, { _csrf: 'forged' }, { _csrf: othersCsrf }];
    for (const form of forms) {
      assert.equal(
        (await browser.request(`${harness.baseUrl}/forget`, { method: 'POST', form, headers: { origin: 'https://evil.example' } })).status,
        403,
      );
    }
    assert.deepEqual(await countRows(harness.database.prisma), { users: 2, tokenSets: 2, signedInSessions: 2 }, 'nothing deleted');
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);

    assert.equal((await browser.request(`${harness.baseUrl}/forget`, { form: { _csrf: csrf } })).status, 303);
    assert.deepEqual(
      await countRows(harness.database.prisma),
      { users: 1, tokenSets: 1, signedInSessions: 1 },
      'only the other person is left',
    );
    await assertSignedOut(harness, browser);
  });

  for (const [path, button] of [
    ['/refresh', 'Refresh now'],
    ['/graph-check', 'Check with Microsoft Graph'],
  ] as const) {
    it(`S32: when "${button}" comes as GET or as a POST without this session's CSRF token, then 403 and no call to Microsoft; the form's POST calls it`, async () => {
      const { browser } = await signIn(harness);
      const other = await signIn(harness, harness.idp.accounts[1]);
      const csrf = (await browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
      const othersCsrf = (await other.browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
      const calls = harness.idp.requestCount();

      assert.equal((await browser.request(`${harness.baseUrl}${path}?_csrf=${csrf}`)).status, 405);
      const forms: Record<string, string>[] = [{}, { _csrf: 'forged' }, { _csrf: othersCsrf }];
      for (const form of forms) {
        const page = await browser.request(`${harness.baseUrl}${path}`, {
          method: 'POST',
          form,
          headers: { origin: 'https://evil.example' },
        });
        assert.equal(page.status, 403, `${JSON.stringify(form)}: ${page.status}`);
        assert.match(page.body, /This form has expired/);
      }
      assert.equal(harness.idp.requestCount(), calls, 'no call to the token endpoint or to Graph');

      assert.equal((await browser.request(`${harness.baseUrl}${path}`, { form: { _csrf: csrf } })).status, 303);
      assert.ok(harness.idp.requestCount() > calls, "the form's own POST reaches Microsoft (the count above could have moved)");
    });
  }
});

describe('G. sign-out while another request of the same session is still running', () => {
  let harness: Harness;
  let slowGraph: http.Server;
  before(async () => {
    // A Graph stand-in that takes its time, so a "Check with Microsoft Graph" is still running when sign-out happens.
    slowGraph = http.createServer((_req, res) => {
      setTimeout(
        () =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ displayName: 'Slow', mail: 'slow@contoso.test', userPrincipalName: 'slow@contoso.test' })),
        800,
      );
    });
    await new Promise<void>((resolve) => slowGraph.listen(0, '127.0.0.1', resolve));
    harness = await startHarness({ env: { GRAPH_BASE_URL: `http://127.0.0.1:${(slowGraph.address() as AddressInfo).port}` } });
  });
  after(async () => {
    await harness.close();
    slowGraph.closeAllConnections();
    await new Promise<void>((resolve) => slowGraph.close(() => resolve()));
  });

  it('S32: when a slow request of the session ends after sign-out, then it does not bring the session back', async () => {
    const { browser } = await signIn(harness);
    const csrf = (await browser.request(`${harness.baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const cookie = browser.cookie(SESSION_COOKIE)!;
    const slow = browser.request(`${harness.baseUrl}/graph-check`, { form: { _csrf: csrf } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } })).status, 303);
    assert.equal((await slow).status, 303);
    assert.equal(
      await harness.database.prisma.session.count({ where: { destroyed: false } }),
      0,
      'the slow request did not write the session back',
    );
    assert.deepEqual(
      await sessionRowOf(harness, cookie),
      { destroyed: true, data: '{}', userId: null },
      'its late save wrote nothing into the destroyed row: it stays destroyed and empty',
    );
    const replay = harness.browser();
    replay.setCookie(SESSION_COOKIE, cookie);
    await assertSignedOut(harness, replay);
  });
});
