import crypto from 'node:crypto';

/**
 * How many CSPRNG bytes are drawn at once. A sign-in takes about ten small random values (state, nonce, verifier, CSRF
 * token, session ids, the IV of each sealed token); drawing each alone costs a buffer and a call into OpenSSL apiece.
 * Node's own crypto.randomUUID keeps such a batch too.
 */
const BATCH_BYTES = 4096;

let batch: Buffer = Buffer.alloc(0);
let taken = 0;

/**
 * `size` bytes from the CSPRNG, each byte handed out once: they come from a batch drawn with one call, and the batch's
 * copy is zeroed as they leave it, so what was handed out does not stay behind in it.
 */
export function randomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > BATCH_BYTES) throw new RangeError(`randomBytes takes 1 to ${BATCH_BYTES} bytes`);
  if (taken + size > batch.length) {
    batch = crypto.randomFillSync(Buffer.allocUnsafeSlow(BATCH_BYTES));
    taken = 0;
  }
  // Byte by byte: for a few dozen bytes this costs less than Buffer's copy and fill, each a call into C++ (bench profile).
  const bytes = Buffer.allocUnsafe(size);
  for (let index = 0; index < size; index += 1) {
    bytes[index] = batch[taken + index] as number;
    batch[taken + index] = 0;
  }
  taken += size;
  return bytes;
}

/**
 * 32 bytes from the CSPRNG, base64url (43 characters): 256 bits for every value an attacker must not guess — the
 * sign-in's state, nonce and PKCE verifier, the admin-consent state, the CSRF token, the session id.
 */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}
