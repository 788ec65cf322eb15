import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes, randomToken } from '../../src/random-token.ts';

describe('random values from a batch of CSPRNG bytes', () => {
  it('when thousands of values are taken (several batches of 4096 bytes), then each has its size and none repeats', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 3000; index += 1) {
      const size = [12, 24, 32][index % 3]!;
      const bytes = randomBytes(size);
      assert.equal(bytes.length, size);
      seen.add(bytes.toString('hex'));
    }
    assert.equal(seen.size, 3000);
  });

  it('when values are taken, then their bytes look uniform (each byte value about equally often), not zeroed or repeated', () => {
    const counts = new Array<number>(256).fill(0);
    const total = 64 * 4096;
    for (let taken = 0; taken < total; taken += 32) for (const byte of randomBytes(32)) counts[byte]! += 1;
    // 1024 expected per value; 5 standard deviations either side (sd = 32).
    for (const [value, count] of counts.entries()) assert.ok(count > 864 && count < 1184, `byte ${value} came ${count} times`);
  });

  it('when a size is not 1 to 4096 bytes, then RangeError', () => {
    for (const size of [0, -1, 1.5, 4097, Number.NaN]) assert.throws(() => randomBytes(size), RangeError, String(size));
  });

  it('when a token is made, then it is 32 bytes in base64url: 43 characters of [A-Za-z0-9_-]', () => {
    const tokens = new Set(Array.from({ length: 500 }, () => randomToken()));
    assert.equal(tokens.size, 500);
    for (const token of tokens) assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  });
});
