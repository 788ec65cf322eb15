import { memoizeBounded } from '../bounded-memo.ts';

/** A token as the page shows it: decoded (never verified) when it is a JWT, or marked opaque. */
export type TokenView =
  | { kind: 'jwt'; header: string; claims: { name: string; value: string; readable: string | undefined }[] }
  | { kind: 'opaque' };

// Claims people look for first; the rest follow in the token's order.
const FIRST = ['aud', 'scp', 'roles', 'tid', 'appid', 'azp', 'upn', 'preferred_username', 'name', 'oid', 'iss', 'iat', 'nbf', 'exp'];
const FIRST_SET = new Set(FIRST);
const TIME_CLAIMS = new Set(['iat', 'nbf', 'exp', 'auth_time']);

/**
 * Decodes a JWT's header and claims on the server, so the token never goes to a third-party decoder.
 * Only for display: Graph access tokens must not be validated by the client.
 */
export function viewToken(token: string): TokenView {
  const [encodedHeader, encodedPayload, signature, ...extra] = token.split('.');
  if (encodedHeader === undefined || encodedPayload === undefined || signature === undefined || extra.length > 0) return { kind: 'opaque' };
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  } catch {
    return { kind: 'opaque' };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { kind: 'opaque' };
  const claims = payload as Record<string, unknown>;
  // FIRST's claims in its order, then the others in the token's: what a stable sort by rank gives, without calling a
  // comparison for each pair (this runs once per token, mostly before V8 has optimised it).
  const names = [...FIRST.filter((name) => Object.hasOwn(claims, name)), ...Object.keys(claims).filter((name) => !FIRST_SET.has(name))];
  return {
    kind: 'jwt',
    header: JSON.stringify(header, null, 2),
    claims: names.map((name) => {
      const value = claims[name];
      return {
        name,
        value: typeof value === 'string' ? value : JSON.stringify(value),
        readable:
          TIME_CLAIMS.has(name) && typeof value === 'number'
            ? new Date(value * 1000)
                .toISOString()
                .replace('T', ' ')
                .replace(/\.\d+Z$/, ' UTC')
            : undefined,
      };
    }),
  };
}

/**
 * viewToken with a small memory of the last `limit` tokens it decoded: a signed-in page shows the same two tokens on
 * every load until they are refreshed, so they are decoded once. The views are never changed by their readers.
 */
export function createTokenViewer(limit = 64): (token: string) => TokenView {
  return memoizeBounded(limit, viewToken);
}
