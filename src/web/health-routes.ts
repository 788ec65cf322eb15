import type { RequestHandler } from 'express';
import type { Discovery } from '../auth/discovery.ts';
import { sql } from '../db/sql.ts';
import type { SqlDatabase } from '../db/sql.ts';

/** How long readiness waits for the database to answer before it reports it unavailable. */
const DATABASE_PING_MS = 2000;

/** GET /healthz, liveness: 200 while the process serves; touches neither the database nor a session, logs nothing. */
export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

/**
 * GET /readyz, readiness: 200 when the database answers and the discovery document is cached or fetchable;
 * otherwise 503 with the reason, so a load balancer sends people to another instance. Logs nothing per call.
 */
export function createReadyz(database: SqlDatabase, discovery: Discovery): RequestHandler {
  return async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!(await answersWithin((async () => database.queryRows(sql`SELECT 1 AS "up"`))(), DATABASE_PING_MS))) {
      res.status(503).json({ status: 'unavailable', reason: 'database' });
      return;
    }
    // Discovery fetches carry their own timeout (O365_HTTP_TIMEOUT_MS).
    if (!(await answersWithin((async () => discovery.getMetadata())()))) {
      res.status(503).json({ status: 'unavailable', reason: 'discovery' });
      return;
    }
    res.json({ status: 'ready' });
  };
}

/** True when the promise resolves within `ms`; a rejection or a timeout is false, never thrown. */
async function answersWithin(promise: Promise<unknown>, ms = Number.POSITIVE_INFINITY): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    if (Number.isFinite(ms)) timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
