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
          verify: (sealed, context) => {
            opens += 1;
            cipher.verify(sealed, context);
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

    it('when a refresh token is verified again, then it is decrypted once, and its text is never kept: open still decrypts', () => {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted);
      const context = tokenContext(alice, 'refreshToken');
      const sealed = cipher.seal('refresh-1', context);
      remembering.verify(sealed, context);
      remembering.verify(sealed, context);
      assert.equal(opens(), 1);
      assert.equal(remembering.open(sealed, context), 'refresh-1');
      assert.equal(opens(), 2);
    });

    it('when the sealed value under a remembered context changes by one character, then it is checked again and fails', () => {
      const remembering = rememberOpenedTokens(cipher);
      for (const column of ['accessToken', 'refreshToken'] as const) {
        const context = tokenContext(alice, column);
        const sealed = cipher.seal('token', context);
        remembering.verify(sealed, context);
        assert.equal(remembering.open(sealed, context), 'token');
        const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
        assert.throws(() => remembering.verify(tampered, context), TokenDecryptError, column);
        assert.throws(() => remembering.open(tampered, context), TokenDecryptError, column);
        assert.equal(remembering.open(sealed, context), 'token', 'the good value still opens');
      }
    });

    it('when a context gets a new ciphertext, then it replaces the remembered one: the older is decrypted afresh if it comes back', () => {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted);
      const context = tokenContext(alice, 'accessToken');
      const [older, newer] = [cipher.seal('token-1', context), cipher.seal('token-2', context)];
      assert.equal(remembering.open(older, context), 'token-1');
      assert.equal(remembering.open(newer, context), 'token-2');
      assert.equal(remembering.open(newer, context), 'token-2');
      assert.equal(opens(), 2);
      assert.equal(remembering.open(older, context), 'token-1');
      assert.equal(opens(), 3);
    });

    it('when more contexts than the limit are opened, then the oldest is forgotten and decrypted afresh', () => {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted, 2);
      const sealedFor = (objectId: string) => {
        const context = tokenContext({ tenantId: 'tenant', objectId }, 'accessToken');
        return { context, sealed: cipher.seal(objectId, context) };
      };
      const [a, b, c] = [sealedFor('a'), sealedFor('b'), sealedFor('c')];
      for (const { sealed, context } of [a, b, c, c, b]) remembering.open(sealed, context);
      assert.equal(opens(), 3);
      assert.equal(remembering.open(a.sealed, a.context), 'a');
      assert.equal(opens(), 4);
    });

    it('when a token is sealed through it, then opening what it returned needs no decryption; a refresh token is remembered as verified, its text not kept', () => {
      const { counted, opens } = countingCipher();
      const remembering = rememberOpenedTokens(counted);
      const accessContext = tokenContext(alice, 'accessToken');
      const refreshContext = tokenContext(alice, 'refreshToken');
      const access = remembering.seal('access-1', accessContext);
      const refresh = remembering.seal('refresh-1', refreshContext);
      assert.equal(remembering.open(access, accessContext), 'access-1');
      remembering.verify(refresh, refreshContext);
      assert.equal(opens(), 0);
      assert.equal(remembering.open(refresh, refreshContext), 'refresh-1');
      assert.equal(opens(), 1, 'the refresh token itself is decrypted when used');
      assert.throws(() => remembering.open(access, tokenContext(alice, 'idToken')), TokenDecryptError, 'only under its own context');
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
