import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import { checkStoredSession } from '../../src/sessions/stored-session-schema.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser, Page } from '../support/http-browser.ts';
import { SESSION_COOKIE, sessionRowOf, useHarness } from '../support/outcomes.ts';
import { csrfOf, MFA_API, RESOURCES_WITH_MFA_API, shownRefusal } from '../support/resource-pages.ts';

const kind = testDatabaseKind();
const SHAREPOINT = 'https://contoso.sharepoint.com';
const OUTLOOK = 'https://outlook.office.com';

// The app's own reads skip the schema check for a text it has just written (rememberWrittenSession): this suite is the
// check that what each route writes fits the schema every other reader (another instance, a restart) holds it to.
describe(`the session rows the app writes fit the schema it reads them with (${kind})`, () => {
  let harness: Harness;
  useHarness(
    (started) => {
      harness = started;
    },
    { resources: [...RESOURCES_WITH_MFA_API] },
  );

  /** The browser's session row, checked afresh (not through the verdicts readStoredSession remembers). */
  const assertRowFits = async (browser: HttpBrowser, step: string, expected: RegExp): Promise<void> => {
    const cookie = browser.cookie(SESSION_COOKIE);
    assert.ok(cookie !== undefined, `${step}: the browser has a session`);
    const row = await sessionRowOf(harness, cookie);
    assert.ok(row !== null && !row.destroyed, `${step}: its row is live`);
    assert.match(row.data, expected, `${step}: the row holds what the step wrote`);
    assert.deepEqual(checkStoredSession(row.data), { ok: true, data: JSON.parse(row.data) }, `${step}: the row fits the schema`);
  };

  /** Posts a form of the signed-in page with its CSRF token; returns the answer (a redirect back to the page). */
  const post = async (browser: HttpBrowser, path: string, fields: Record<string, string> = {}): Promise<Page> => {
    const home = await browser.request(`${harness.baseUrl}/`);
    const answer = await browser.request(`${harness.baseUrl}${path}`, { form: { _csrf: csrfOf(home), ...fields } });
    assert.equal(answer.status, 303, answer.body.slice(0, 300));
    return answer;
  };

  it('when a person starts a sign-in, signs in, refreshes, checks Graph, gets and is refused tokens for other APIs, and starts a sign-in and an admin consent for one, then every row written on the way fits', async () => {
    const browser = harness.browser();
    const callbackUrl = await harness.authorize(browser);
    await assertRowFits(browser, 'a pending sign-in', /"pendingSignIns":\[\{"state"/);
    assert.equal((await browser.request(callbackUrl)).status, 303);
    await assertRowFits(browser, 'the signed-in session', /"userId":"[^"]+"/);

    await post(browser, '/refresh');
    await assertRowFits(browser, 'the notice of a refresh', /"notice":\{"kind":"refreshed"/);
    await browser.request(`${harness.baseUrl}/`);
    await assertRowFits(browser, 'the session after its notice was shown', /"userId"/);

    await post(browser, '/graph-check');
    await assertRowFits(browser, 'the notice of a Graph check', /"notice":\{"kind":"graph-ok"/);

    await post(browser, '/resources', { resource: OUTLOOK });
    await assertRowFits(browser, 'the notice of a token for another API', /"notice":\{"kind":"resource-token"/);

    await post(browser, '/resources', { resource: SHAREPOINT });
    await assertRowFits(browser, 'the notice of a refusal (AADSTS65001)', /"notice":\{"kind":"resource-refused".*"description":/);
    const refused = await browser.request(`${harness.baseUrl}/`);
    const refusal = shownRefusal(refused);
    assert.ok(refusal?.adminConsentScope !== undefined);
    const consent = await browser.request(`${harness.baseUrl}/resources/admin-consent`, {
      form: { _csrf: csrfOf(refused), scope: refusal.adminConsentScope },
    });
    assert.equal(consent.status, 303, consent.body.slice(0, 300));
    await assertRowFits(browser, 'a pending admin consent', /"pendingAdminConsents":\[\{"state"/);

    await post(browser, '/resources', { scope: `${MFA_API}/Read` });
    await assertRowFits(browser, 'the notice of a claims challenge (AADSTS50076)', /"notice":\{"kind":"resource-refused".*"claims":/);
    const challenged = await browser.request(`${harness.baseUrl}/`);
    const challenge = shownRefusal(challenged);
    assert.ok(challenge?.signInScope !== undefined && challenge.claims !== undefined);
    const start = await browser.request(`${harness.baseUrl}/resources/sign-in`, {
      form: { _csrf: csrfOf(challenged), scope: challenge.signInScope, claims: challenge.claims },
    });
    assert.equal(start.status, 303, start.body.slice(0, 300));
    await assertRowFits(browser, 'a pending sign-in for an API with its claims challenge', /"incremental":\{.*"claims":/);
  });
});
