// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * True when `value` has the syntax of an OAuth 2.0 bearer token (RFC 6750's b64token). Microsoft's access tokens
 * are JWTs or opaque base64 strings, both of this form; anything else (a quote, a space, markup) is not a token.
 */
export function isBearerToken(value: string): boolean {
  return B64TOKEN.test(value);
}
