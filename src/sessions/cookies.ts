import { parseCookie } from 'cookie';

/** The value of one cookie in a Cookie request header, or undefined when the browser did not send it. */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  return cookieHeader === undefined ? undefined : parseCookie(cookieHeader)[name];
}
