import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCookie } from '../../src/sessions/cookies.ts';

describe('readCookie', () => {
  it('when the header carries the cookie among others, then its value', () => {
    assert.equal(readCookie('theme=dark; o365signin.sid=s%3Aabc.def;other=1', 'o365signin.sid'), 's:abc.def');
    assert.equal(readCookie('o365signin.notice=signed-out', 'o365signin.notice'), 'signed-out');
  });

  it('when there is no header, or only a cookie whose name merely starts the same, then undefined', () => {
    assert.equal(readCookie(undefined, 'o365signin.sid'), undefined);
    assert.equal(readCookie('', 'o365signin.sid'), undefined);
    assert.equal(readCookie('o365signin.sid2=x; xo365signin.sid=y', 'o365signin.sid'), undefined);
  });

  it('when the browser sends the name twice, then the first value counts', () => {
    assert.equal(readCookie('o365signin.notice=forgotten; o365signin.notice=signed-out', 'o365signin.notice'), 'forgotten');
  });
});
