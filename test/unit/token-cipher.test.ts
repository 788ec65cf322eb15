import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { createTokenCipher, TokenDecryptError, tokenContext } from '../../src/tokens/token-cipher.ts';

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
});
