import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameData } from '../../src/web/signed-in-page.ts';

const facts = () => ({
  user: { id: 'u1', tenantId: 't', objectId: 'o', displayName: 'Adele Vance', username: 'adele@contoso.test' },
  tokens: {
    accessToken: 'eyJ.a.b',
    idToken: 'eyJ.c.d',
    tokenType: 'Bearer',
    scopes: ['User.Read', 'openid'],
    expiresAt: '2026-12-06T04:00:00.000Z',
    expired: false,
    hasRefreshToken: true,
  },
  needsSignIn: false,
  refreshProblem: undefined,
  resourceTokens: [{ resource: 'https://outlook.office.com', requestedScopes: ['Mail.Read'], scopes: ['Mail.Read'], expired: false }],
  csrfToken: 'csrf-1',
});

describe('the facts a kept signed-in page was rendered from, compared with a request’s', () => {
  it('when every field is equal (built anew, not the same objects), then the kept page may be sent', () => {
    assert.equal(sameData(facts(), facts()), true);
  });

  it('when any one field differs at any depth, then it is rendered anew', () => {
    const changes: ((value: ReturnType<typeof facts>) => unknown)[] = [
      (value) => (value.user.displayName = 'Adele'),
      (value) => (value.tokens.accessToken = 'eyJ.a.c'),
      (value) => (value.tokens.scopes = ['User.Read']),
      (value) => (value.tokens.scopes = ['openid', 'User.Read']),
      (value) => (value.tokens.expired = true),
      (value) => (value.needsSignIn = true),
      (value) => ((value as { refreshProblem: unknown }).refreshProblem = 'Microsoft could not be reached'),
      (value) => (value.resourceTokens = []),
      (value) => value.resourceTokens.push({ ...value.resourceTokens[0]!, resource: 'https://management.azure.com' }),
      (value) => ((value.resourceTokens[0] as { expired: boolean }).expired = true),
      (value) => (value.csrfToken = 'csrf-2'),
      (value) => ((value as { extra?: string }).extra = 'x'),
      (value) => delete (value.user as { username?: string }).username,
      (value) => ((value as { tokens: unknown }).tokens = undefined),
    ];
    for (const [index, change] of changes.entries()) {
      const changed = facts();
      change(changed);
      assert.equal(sameData(facts(), changed), false, `change ${index}`);
      assert.equal(sameData(changed, facts()), false, `change ${index}, the other way round`);
    }
  });

  it('when an array meets an object with the same indexes, or null meets an object, then they differ', () => {
    assert.equal(sameData(['a'], { 0: 'a' }), false);
    assert.equal(sameData(null, {}), false);
    assert.equal(sameData({ a: null }, { a: {} }), false);
    assert.equal(sameData([], []), true);
  });
});
