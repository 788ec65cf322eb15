import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { resetHarness } from '../support/outcomes.ts';
import { rawGet } from '../support/raw-http.ts';

const EVIL = [
  'https://evil.example',
  '//evil.example',
  '/\\evil.example',
  'https:%2F%2Fevil.example',
  '%2F%2Fevil.example',
  '/%5Cevil.example',
  'javascript:alert(1)',
];

for (const trustProxy of [undefined, 'loopback']) {
  describe(`E. redirects${trustProxy ? ' behind a trusted proxy' : ''}`, () => {
    let harness: Harness;
    before(async () => {
      harness = await startHarness({ env: trustProxy ? { TRUST_PROXY: trustProxy } : {} });
    });
    after(async () => {
      await harness.close();
    });
    beforeEach(async () => {
      await resetHarness(harness);
    });

    it(`S25: when /connect arrives with Host or X-Forwarded-Host evil.example${trustProxy ? ' (TRUST_PROXY=loopback)' : ''}, then redirect_uri is still BASE_URL/connect/get_token`, async () => {
      for (const headers of <Record<string, string>[]>[
        { Host: 'evil.example' },
        { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' },
        { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example:444', Forwarded: 'host=evil.example;proto=https' },
      ]) {
        const response = await rawGet(`${harness.baseUrl}/connect`, headers);
        assert.equal(response.status, 302);
        const authorization = new URL(response.headers.location!);
        assert.equal(authorization.searchParams.get('redirect_uri'), `${harness.baseUrl}/connect/get_token`);
        assert.equal(authorization.origin, harness.idp.origin);
        assert.ok(!response.headers.location!.includes('evil.example'));
      }
    });

    it('S26: when a return-to parameter names another site, then it is ignored: /connect and the callback only ever send the browser to /', async () => {
      const browser = harness.browser();
      for (const evil of EVIL) {
        for (const name of ['return_to', 'returnTo', 'next', 'redirect', 'redirect_uri', 'post_login_redirect']) {
          const connect = await browser.request(`${harness.baseUrl}/connect?${name}=${encodeURIComponent(evil)}`);
          assert.equal(connect.status, 302);
          assert.equal(new URL(connect.location!).searchParams.get('redirect_uri'), `${harness.baseUrl}/connect/get_token`);
          assert.ok(!connect.location!.includes('evil.example'));
        }
      }
      const fresh = harness.browser();
      const callbackUrl = await harness.authorize(fresh);
      const withReturnTo = `${callbackUrl}${EVIL.map((evil) => `&return_to=${encodeURIComponent(evil)}&next=${encodeURIComponent(evil)}`).join('')}`;
      const callback = await fresh.request(withReturnTo);
      assert.equal(callback.status, 303);
      assert.equal(callback.location, `${harness.baseUrl}/`);
      const home = await fresh.request(`${harness.baseUrl}/`);
      const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)![1]!;
      const out = await fresh.request(`${harness.baseUrl}/logout`, {
        form: { _csrf: csrf, return_to: 'https://evil.example', next: '//evil.example' },
      });
      assert.equal(out.status, 303);
      assert.equal(out.location, `${harness.baseUrl}/`);
    });
  });
}
