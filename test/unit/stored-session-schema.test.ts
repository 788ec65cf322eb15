import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import session from 'express-session';
import { createPendingAdminConsent } from '../../src/auth/admin-consent.ts';
import { createPendingSignIn } from '../../src/auth/pending-sign-ins.ts';
import { randomToken } from '../../src/random-token.ts';
import { sessionCookieSettings } from '../../src/sessions/session-middleware.ts';
import { readStoredSession, rememberWrittenSession } from '../../src/sessions/stored-session-schema.ts';
import type { Notice } from '../../src/sessions/session-data.ts';

/** A signed-in session as express-session stores it: its own Cookie's JSON beside the app's fields. */
function storedSession(fields: Record<string, unknown>): Record<string, unknown> {
  const settings = sessionCookieSettings({ baseUrl: 'https://app.example', sessionIdleMinutes: 30 });
  const cookie = Object.assign(new session.Cookie(), settings);
  return JSON.parse(JSON.stringify({ cookie, ...fields })) as Record<string, unknown>;
}

const NOTICES: readonly Notice[] = [
  { kind: 'signed-out' },
  { kind: 'signed-out-microsoft' },
  { kind: 'forgotten' },
  { kind: 'refreshed', expiresAt: new Date().toISOString() },
  { kind: 'refresh-failed', message: 'Sign in again.', aadsts: '70008', correlationId: crypto.randomUUID() },
  { kind: 'refresh-failed', message: 'Microsoft sign-in is unavailable.' },
  { kind: 'graph-ok', displayName: 'Adele', mail: 'adele@contoso.test', userPrincipalName: 'adele@contoso.test' },
  { kind: 'graph-ok', displayName: '', mail: '', userPrincipalName: '', signInNeededAfter: new Date().toISOString() },
  { kind: 'graph-failed', status: 401, code: 'InvalidAuthenticationToken', message: 'Expired.', requestId: crypto.randomUUID() },
  { kind: 'graph-failed', status: 0, code: 'NetworkError', message: 'Microsoft Graph could not be reached.' },
  { kind: 'resource-token', resource: 'https://outlook.office.com', refreshed: true },
  {
    kind: 'resource-refused',
    problem: 'interaction_required',
    title: 'Microsoft wants you to sign in again for this API',
    message: 'Microsoft requires an interactive sign-in.',
    fix: 'Sign in for this API.',
    resource: 'api://0c0ffee0-5a1e-4d2c-8b3a-9f8e7d6c5b4a',
    scopes: ['api://0c0ffee0-5a1e-4d2c-8b3a-9f8e7d6c5b4a/Read'],
    aadsts: '50076',
    description: 'AADSTS50076: Due to a configuration change made by your administrator …',
    correlationId: crypto.randomUUID(),
    claims: '{"access_token":{"capolids":{"essential":true,"values":["0f6b1a3e-52d4-4c8e-9b7a-3d2e1f4c5a6b"]}}}',
  },
  {
    kind: 'resource-refused',
    problem: 'invalid_request',
    title: 'Ask for one resource at a time',
    message: 'Two resources.',
    fix: 'Ask separately.',
  },
];

describe('readStoredSession', () => {
  it('when a session holds what the app writes (pending sign-ins, a signed-in user, each kind of notice), then it fits', () => {
    const now = Date.now();
    const pending = { pendingSignIns: [createPendingSignIn(now), createPendingSignIn(now)], startedAt: now };
    assert.equal(readStoredSession(JSON.stringify(storedSession(pending))).ok, true);
    const forResource = createPendingSignIn(now, {
      userId: 'cmabc123def456',
      scopes: ['https://contoso.sharepoint.com/.default'],
      claims: '{"access_token":{}}',
    });
    const adminConsent = createPendingAdminConsent(now, {
      tenantId: '4b0911a0-929b-4715-944b-c03745165b3a',
      scopes: ['https://contoso.crm.dynamics.com/.default'],
    });
    const consents = {
      userId: 'cmabc123def456',
      startedAt: now,
      csrfToken: randomToken(),
      pendingSignIns: [forResource],
      pendingAdminConsents: [adminConsent],
    };
    const reading = readStoredSession(JSON.stringify(storedSession(consents)));
    assert.ok(reading.ok, JSON.stringify(reading));
    assert.deepEqual(reading.data.pendingSignIns, [forResource]);
    assert.deepEqual(reading.data.pendingAdminConsents, [adminConsent]);
    for (const notice of NOTICES) {
      const signedIn = { userId: 'cmabc123def456', startedAt: now, seenAt: now, csrfToken: randomToken(), notice };
      const reading = readStoredSession(JSON.stringify(storedSession(signedIn)));
      assert.deepEqual(reading.ok && reading.data.notice, notice, notice.kind);
    }
  });

  it('when a field is of the wrong type, unknown or the row is not an object, then the reading names where and how, never a value', () => {
    const now = Date.now();
    const verifier = randomToken();
    const base = storedSession({ startedAt: now, pendingSignIns: [{ ...createPendingSignIn(now), codeVerifier: verifier }] });
    const cases: [string, unknown, string, string][] = [
      [
        'a pending sign-in without its state',
        { ...base, pendingSignIns: [{ nonce: verifier, codeVerifier: verifier, createdAt: now }] },
        'pendingSignIns[0].state',
        'invalid_type',
      ],
      ['an unknown notice', { ...base, notice: { kind: 'welcome', message: verifier } }, 'notice.kind', 'invalid_union'],
      [
        'a cookie Domain the app never sets',
        { ...base, cookie: { ...(base.cookie as object), domain: 'evil.example' } },
        'cookie.domain',
        'unrecognized_keys',
      ],
      ['a startedAt in seconds as text', { ...base, startedAt: String(now / 1000) }, 'startedAt', 'invalid_type'],
      ['a CSRF token too short to be random', { ...base, csrfToken: 'x' }, 'csrfToken', 'invalid_format'],
      [
        'a sign-in for an API whose scopes hold a space',
        { ...base, pendingSignIns: [createPendingSignIn(now, { userId: 'u1', scopes: ['a b'] })] },
        'pendingSignIns[0].incremental.scopes[0]',
        'invalid_format',
      ],
      [
        'a claims challenge that is no JSON object',
        { ...base, pendingSignIns: [createPendingSignIn(now, { userId: 'u1', scopes: ['User.Read'], claims: '[1]' })] },
        'pendingSignIns[0].incremental.claims',
        'custom',
      ],
      [
        "an admin consent for a tenant that is no tenant id ('common')",
        { ...base, pendingAdminConsents: [{ ...createPendingAdminConsent(now, { tenantId: 'common', scopes: ['User.Read'] }) }] },
        'pendingAdminConsents[0].tenantId',
        'invalid_format',
      ],
      ['an array', [base], '(root)', 'invalid_type'],
    ];
    for (const [condition, data, field, problem] of cases) {
      const reading = readStoredSession(JSON.stringify(data));
      assert.deepEqual(reading, { ok: false, field, problem }, condition);
    }
    assert.deepEqual(readStoredSession('{bad'), { ok: false, field: '(row)', problem: 'not_json' });
    assert.deepEqual(readStoredSession(null), { ok: false, field: '(row)', problem: 'not_text' });
  });

  it('when the same row is read again, then it gets data of its own (a change a request made to the first is not in it)', () => {
    const now = Date.now();
    const text = JSON.stringify(storedSession({ userId: 'cmabc123def456', startedAt: now, seenAt: now, csrfToken: randomToken() }));
    const first = readStoredSession(text);
    assert.ok(first.ok);
    first.data.userId = 'someone-else';
    first.data.csrfToken = undefined;
    const again = readStoredSession(text);
    assert.ok(again.ok);
    assert.equal(again.data.userId, 'cmabc123def456');
    assert.notEqual(again.data, first.data);
    assert.deepEqual(again.data, JSON.parse(text));
  });

  it('when a row that fitted changes in one field, then the changed text is checked on its own (a verdict belongs to one exact text)', () => {
    const now = Date.now();
    const fits = storedSession({ userId: 'cmabc123def456', startedAt: now, seenAt: now, csrfToken: randomToken() });
    assert.equal(readStoredSession(JSON.stringify(fits)).ok, true);
    const changed = { ...fits, seenAt: String(now) };
    assert.deepEqual(readStoredSession(JSON.stringify(changed)), { ok: false, field: 'seenAt', problem: 'invalid_type' });
    assert.equal(readStoredSession(JSON.stringify(fits)).ok, true);
  });

  it('when this process wrote a row and the row is then changed in one field, then the changed text is checked (only the exact text written is known)', () => {
    const now = Date.now();
    const written = JSON.stringify(storedSession({ userId: 'cmabc123def456', startedAt: now, seenAt: now, csrfToken: randomToken() }));
    rememberWrittenSession(written);
    assert.equal(readStoredSession(written).ok, true);
    const changed = written.replace(`"seenAt":${now}`, `"seenAt":"${now}"`);
    assert.notEqual(changed, written);
    assert.deepEqual(readStoredSession(changed), { ok: false, field: 'seenAt', problem: 'invalid_type' });
  });
});
