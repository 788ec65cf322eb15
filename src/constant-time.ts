import crypto from 'node:crypto';

/**
 * True when the two strings are equal, in time that does not depend on where they differ: both are hashed
 * first, so their lengths leak nothing either (timingSafeEqual alone needs equal lengths).
 */
export function equalInConstantTime(a: string, b: string): boolean {
  return crypto.timingSafeEqual(sha256(a), sha256(b));
}

function sha256(value: string): Buffer {
  return crypto.createHash('sha256').update(value).digest();
}
