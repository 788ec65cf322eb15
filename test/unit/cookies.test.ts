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

  it('when the name is one every object inherits (toString, __proto__), then undefined unless the browser sent it', () => {
    // cookie 1.x parses into an object without a prototype; 0.7 answered a function for toString.
    assert.equal(readCookie('theme=dark', 'toString'), undefined);
    assert.equal(readCookie('theme=dark', '__proto__'), undefined);
    assert.equal(readCookie('toString=1', 'toString'), '1');
  });

  it('when the browser sends the name twice, then the first value counts', () => {
    assert.equal(readCookie('o365signin.notice=forgotten; o365signin.notice=signed-out', 'o365signin.notice'), 'forgotten');
  });
});
