// A session's life in a request: saved before a redirect, regenerated, destroyed, discarded, and taken over once by
// the callback (takeOverSession: the replay guard that lets one state be redeemed by one request only, on any instance).
import type { Request } from 'express';
import type { SessionData } from 'express-session';
import type { SqlQueries } from '../db/sql.ts';
import { DatabaseSessionStore } from './session-store.ts';

/** Writes the session to the store now (before a redirect leaves the app). */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((error) => (error ? reject(error) : resolve())));
}

/** Replaces the session id and data with a fresh, empty session; the old id is dead in the store. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
}

/** Deletes the session from the store. */
export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * Writes the session with `transaction` (a caller's), so that it is stored with the caller's other writes or not at all.
 * Returns what to call once the transaction committed; until then express-session still counts the session unsaved.
 */
export function writeSessionWithin(req: Request, transaction: SqlQueries): Promise<() => void> {
  // The object express-session itself hands the store on save.
  return databaseStoreOf(req).writeWithin(transaction, req.sessionID, req.session as unknown as SessionData);
}

/**
 * The callback's replay guard. Ends this session in the store unless another request (on any instance) ended it first, and gives the request
 * a fresh session (new id) with the same data. Returns false, changing nothing, when it lost that race.
 */
export async function takeOverSession(req: Request): Promise<boolean> {
  const store = databaseStoreOf(req);
  const { cookie: _cookie, ...data } = req.session;
  if (!(await store.takeOver(req.sessionID))) return false;
  req.sessionStore.generate(req);
  Object.assign(req.session, data);
  return true;
}

/** Leaves this request without a session: express-session then saves nothing and sets no cookie. */
export function discardSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}

function databaseStoreOf(req: Request): DatabaseSessionStore {
  const store = req.sessionStore;
  if (!(store instanceof DatabaseSessionStore)) throw new Error('sessions must live in the DatabaseSessionStore');
  return store;
}
