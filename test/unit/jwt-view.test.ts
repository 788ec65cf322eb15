import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenViewer, viewToken } from '../../src/tokens/jwt-view.ts';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('the decoded token view', () => {
  it('when the token is a JWT, then header and claims are shown, the common claims first and times readable', () => {
    const token = `${encode({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${encode({ zzz: 1, exp: 1796000000, scp: 'User.Read', abc: 2, aud: 'https://graph.microsoft.com', roles: ['a'] })}.sig`;
    const view = viewToken(token);
    assert.equal(view.kind, 'jwt');
    if (view.kind !== 'jwt') return;
    assert.match(view.header, /"kid": "k1"/);
    assert.deepEqual(
      view.claims.map((claim) => claim.name),
      // The others keep the token's order (zzz before abc), not the alphabet's.
      ['aud', 'scp', 'roles', 'exp', 'zzz', 'abc'],
    );
    assert.equal(view.claims.find((claim) => claim.name === 'roles')!.value, '["a"]');
    assert.equal(view.claims.find((claim) => claim.name === 'exp')!.readable, '2026-11-30 00:53:20 UTC');
  });

  it('when the token is opaque (personal accounts), then the view says so', () => {
    assert.deepEqual(viewToken('EwBwA8l6BAAURSN/FHlDW5xN74t6GzbtsBBeBUYAAZyHs5bqoJO2eQzZ'), { kind: 'opaque' });
    assert.deepEqual(viewToken('a.b.c'), { kind: 'opaque' });
    assert.deepEqual(viewToken(`${encode({ alg: 'none' })}.${encode([1, 2])}.`), { kind: 'opaque' });
  });
});

describe('the token viewer of the home page', () => {
  const jwtOf = (claims: object) => `${encode({ alg: 'RS256' })}.${encode(claims)}.sig`;

  it('when the same token is shown again, then it is not decoded again; when more tokens than its limit pass, then the oldest is decoded anew', () => {
    const viewTokenOnce = createTokenViewer(2);
    const first = jwtOf({ oid: 'a' });
    const view = viewTokenOnce(first);
    assert.deepEqual(view, viewToken(first));
    assert.equal(viewTokenOnce(first), view, 'the same view object: decoded once');
    viewTokenOnce(jwtOf({ oid: 'b' }));
    viewTokenOnce(jwtOf({ oid: 'c' }));
    const again = viewTokenOnce(first);
    assert.notEqual(again, view, 'evicted after two newer tokens');
    assert.deepEqual(again, view);
  });
});
