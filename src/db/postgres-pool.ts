import type pg from 'pg';

/** SQLSTATE sqlclient_unable_to_establish_sqlconnection: no connection could be had (none free in time, none opened). */
const NO_CONNECTION = '08001';
/** SQLSTATE connection_failure: the connection ended under a query without a word from the server. */
const CONNECTION_LOST = '08006';

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * node-postgres raises a few connection failures as bare Errors with no code: the pool's "timeout exceeded when
 * trying to connect", a connection timeout, "Connection terminated unexpectedly". Prisma's adapter passes them on
 * unnamed. This gives each the SQLSTATE a server or libpq would report (08001, 08006) and the fields of a node-postgres
 * DatabaseError, so the adapter maps them like any server error (kind `postgres` with that code) and
 * database-errors.ts can tell "database unavailable" by its structure.
 */
export function tagConnectionFailures(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
  // pool.query() calls this.connect(callback); a transaction calls pool.connect() for a promise.
  pool.connect = ((callback?: ConnectCallback) => {
    if (callback === undefined) {
      return connect()?.catch((error: unknown) => {
        throw withSqlState(error, NO_CONNECTION);
      });
    }
    return connect((error, client, done) => callback(error ? withSqlState(error, NO_CONNECTION) : error, client, done));
  }) as typeof pool.connect;
  pool.on('connect', (client) => tagLostConnection(client));
}

/** Tags the code-less errors of queries on `client` once its connection has failed or ended. */
function tagLostConnection(client: pg.PoolClient): void {
  let lost = false;
  // node-postgres emits 'error' with the same Error it then hands the queries still waiting: tagged here, before them.
  client.on('error', (error) => {
    lost = true;
    withSqlState(error, CONNECTION_LOST);
  });
  client.on('end', () => {
    lost = true;
  });
  const tag = (error: unknown) => (lost ? withSqlState(error, CONNECTION_LOST) : error);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => callback(error ? tag(error) : error, result);
      return query(...args);
    }
    const result = query(...args);
    return result instanceof Promise
      ? result.catch((error: unknown) => {
          throw tag(error);
        })
      : result;
  }) as typeof client.query;
}

/** Gives an Error without a code the SQLSTATE `state` and the severity a DatabaseError carries; others are left alone. */
function withSqlState<T>(error: T, state: string): T {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== undefined) return error;
  return Object.assign(error, { code: state, severity: 'ERROR' });
}
