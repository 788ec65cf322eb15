import type { Request, Response } from 'express';
import { AppError } from '../errors.ts';
import { readCookie } from '../sessions/cookies.ts';
import { saveSession } from '../sessions/session-lifecycle.ts';
import type { Notice } from '../sessions/session-data.ts';
import type { RefreshError } from '../tokens/token-service.ts';

const NOTICE_COOKIE = 'o365signin.notice';
const COOKIE_NOTICES = new Set(['signed-out', 'signed-out-microsoft', 'forgotten']);

/**
 * Keeps a notice for the next page of this session and stores the session before the response goes out,
 * so a failed save is this response's error page rather than a redirect to a page without the notice.
 */
export async function saveSessionNotice(req: Request, notice: Notice): Promise<void> {
  req.session.notice = notice;
  try {
    await saveSession(req);
  } catch (cause) {
    throw new AppError('session_not_saved', { cause });
  }
}

/** The notice after a refresh that failed: its message and Microsoft's AADSTS code and correlation id, for the page to show. */
export function refreshFailedNotice(error: RefreshError): Notice {
  return { kind: 'refresh-failed', message: error.message, aadsts: error.details.aadsts, correlationId: error.details.correlationId };
}

/** Keeps a sign-out notice in a five-minute cookie, since the session that could carry it is gone. */
export function setCookieNotice(res: Response, kind: 'signed-out' | 'signed-out-microsoft' | 'forgotten', secure: boolean): void {
  res.cookie(NOTICE_COOKIE, kind, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 5 * 60 * 1000 });
}

/** Takes the pending notice, if any, so it shows once (a browser without a session cookie has no req.session on GET /). */
export function takeNotice(req: Request, res: Response): Notice | undefined {
  const fromSession = req.session?.notice;
  if (fromSession !== undefined) {
    req.session.notice = undefined;
    return fromSession;
  }
  const fromCookie = readCookie(req.headers.cookie, NOTICE_COOKIE);
  if (fromCookie === undefined) return undefined;
  res.clearCookie(NOTICE_COOKIE, { path: '/' });
  return COOKIE_NOTICES.has(fromCookie) ? ({ kind: fromCookie } as Notice) : undefined;
}
