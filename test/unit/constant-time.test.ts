import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { equalInConstantTime } from '../../src/constant-time.ts';

describe('equalInConstantTime', () => {
  it('when the strings are equal, then true', () => {
    assert.equal(equalInConstantTime('state-value', 'state-value'), true);
    assert.equal(equalInConstantTime('', ''), true);
  });

  it('when they differ in one character or in length, then false (and no throw, unlike timingSafeEqual on unequal lengths)', () => {
    assert.equal(equalInConstantTime('state-value', 'state-valuf'), false);
    assert.equal(equalInConstantTime('state-value', 'state-value-longer'), false);
    assert.equal(equalInConstantTime('state-value', ''), false);
  });
});
