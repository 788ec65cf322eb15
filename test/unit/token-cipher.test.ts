import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { createTokenCipher, rememberOpenedTokens, TokenDecryptError, tokenContext } from '../../src/tokens/token-cipher.ts';
import type { TokenCipher } from '../../src/tokens/token-cipher.ts';

describe('token encryption', () => {
  const key = crypto.randomBytes(32);
  const cipher = createTokenCipher([key]);

  it('when a token is sealed, then the stored text does not contain it and opens back to it', () => {
    const context = tokenContext({ tenantId: 'tenant', objectId: 'user' }, 'accessToken');
    const sealed = cipher.seal('eyJ0eXAiOiJKV1Qi.secret-token', context);
    assert.ok(!sealed.includes('secret-token'));
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]{8}\./);
    assert.equal(cipher.open(sealed, context), 'eyJ0eXAiOiJKV1Qi.secret-token');
  });

  it('when the same token is sealed twice, then the ciphertexts differ', () => {
    assert.notEqual(cipher.seal('token', 'ctx'), cipher.seal('token', 'ctx'));
  });

  it('when a ciphertext is moved to another user or column, then it does not open', () => {
    const alice = { tenantId: 'tenant', objectId: 'alice' };
    const sealed = cipher.seal('token', tokenContext(alice, 'accessToken'));
    assert.throws(() => cipher.open(sealed, tokenContext({ tenantId: 'tenant', objectId: 'bob' }, 'accessToken')), TokenDecryptError);
    assert.throws(
      () => cipher.open(sealed, tokenContext({ tenantId: 'other-tenant', objectId: 'alice' }, 'accessToken')),
      TokenDecryptError,
    );
    assert.throws(() => cipher.open(sealed, tokenContext(alice, 'refreshToken')), TokenDecryptError);
  });

  it('when a ciphertext is tampered with, then it does not open', () => {
    const sealed = cipher.seal('token', 'ctx');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString('base64url');
    assert.throws(() => cipher.open(parts.join('.'), 'ctx'), TokenDecryptError);
    assert.throws(() => cipher.open('garbage', 'ctx'), TokenDecryptError);
  });

  it('when the key changes, then old ciphertexts open only while the old key is in the list', () => {
    const sealed = cipher.seal('token', 'ctx');
    const newKey = crypto.randomBytes(32);
    assert.equal(createTokenCipher([newKey, key]).open(sealed, 'ctx'), 'token');
    assert.throws(() => createTokenCipher([newKey]).open(sealed, 'ctx'), TokenDecryptError);
  });

  describe('remembering opened tokens (the signed-in page opens the same stored tokens on every load)', () => {
    /** The cipher with a count of the ciphertexts it really opened. */
    function countingCipher(): { counted: TokenCipher; opens: () => number } {
      let opens = 0;
      return {
        counted: {
          seal: (plaintext, context) => cipher.seal(plaintext, context),
          open: (sealed, context) => {
            opens += 1;
            return cipher.open(sealed, context);
          },
        },
        opens: () => opens,
      };
    }
    const alice = { tenantId: 'tenant', objectId: 'alice' };

    /** Seals `plaintext` for alice's `column`, opens it twice through a remembering cipher; says how often it was really decrypted. */
    function openTwice(column: 'accessToken' | 'refreshToken', plaintext: string) {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted);
      const context = tokenContext(alice, column);
      const sealed = cipher.seal(plaintext, context);
      assert.equal(remembering.open(sealed, context), plaintext);
      assert.equal(remembering.open(sealed, context), plaintext);
      return { remembering, context, decryptions: opens };
    }

    it('when the same sealed token is opened again, then it is decrypted once; a new ciphertext of it is decrypted afresh', () => {
      const { remembering, context, decryptions } = openTwice('accessToken', 'token-1');
      assert.equal(decryptions(), 1);
      assert.equal(remembering.open(cipher.seal('token-1', context), context), 'token-1');
      assert.equal(decryptions(), 2);
    });

    it('when a refresh token is opened again, then it is decrypted each time: the long-lived credential is never kept opened', () => {
      assert.equal(openTwice('refreshToken', 'refresh-1').decryptions(), 2);
    });

    it('when a remembered ciphertext is moved to another user or column, then it still does not open', () => {
      const remembering = rememberOpenedTokens(cipher);
      const sealed = cipher.seal('token', tokenContext(alice, 'accessToken'));
      assert.equal(remembering.open(sealed, tokenContext(alice, 'accessToken')), 'token');
      assert.throws(
        () => remembering.open(sealed, tokenContext({ tenantId: 'tenant', objectId: 'bob' }, 'accessToken')),
        TokenDecryptError,
      );
      assert.throws(() => remembering.open(sealed, tokenContext(alice, 'refreshToken')), TokenDecryptError);
    });

    it('when a ciphertext fails to open, then the failure is not remembered: the same call fails again, with the cipher asked again', () => {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted);
      const sealed = cipher.seal('token', 'right');
      assert.throws(() => remembering.open(sealed, 'wrong'), TokenDecryptError);
      assert.throws(() => remembering.open(sealed, 'wrong'), TokenDecryptError);
      assert.equal(opens(), 2);
    });
  });
});
