/** The part of a Prisma driver adapter (or one of its transactions) that runs SQL. */
interface Queryable {
  queryRaw(query: { sql: string }): Promise<unknown>;
  executeRaw(query: { sql: string }): Promise<unknown>;
}

interface TransactionalQueryable extends Queryable {
  startTransaction(isolationLevel?: never): Promise<Queryable>;
}

/**
 * Calls `onStatement` with the SQL of every statement a driver adapter runs, in transactions too ('BEGIN' for each
 * transaction), for SQLite and PostgreSQL alike. Tests count a request's writes with it.
 */
export function observeStatements<T extends object>(adapter: T, onStatement: (sql: string) => void): T {
  const observe = <Q extends Queryable>(queryable: Q): Q => {
    const { queryRaw, executeRaw } = queryable;
    queryable.queryRaw = (query) => {
      onStatement(query.sql);
      return queryRaw.call(queryable, query);
    };
    queryable.executeRaw = (query) => {
      onStatement(query.sql);
      return executeRaw.call(queryable, query);
    };
    return queryable;
  };
  const transactional = adapter as unknown as TransactionalQueryable;
  const { startTransaction } = transactional;
  transactional.startTransaction = async (isolationLevel) => {
    const transaction = await startTransaction.call(transactional, isolationLevel);
    onStatement('BEGIN');
    return observe(transaction);
  };
  observe(transactional);
  return adapter;
}

/** The client option under which Prisma's client emits a `query` event for each statement it runs (no output). */
export interface ClientQueryEvents {
  log?: { emit: 'event'; level: 'query' }[];
}

/**
 * Builds a Prisma client with `create` and, when `onClientStatement` is given, calls it with the SQL of every statement
 * the client runs through its own query pipeline (its `query` event), which the driver path of direct-sql.ts skips:
 * with observeStatements, which sees both, tests tell which path a statement took.
 */
export function observeClientStatements<T extends object>(
  create: (options: ClientQueryEvents) => T,
  onClientStatement: ((sql: string) => void) | undefined,
): T {
  if (onClientStatement === undefined) return create({});
  const client = create({ log: [{ emit: 'event', level: 'query' }] });
  (client as unknown as { $on(event: 'query', listener: (event: { query: string }) => void): void }).$on('query', (event) =>
    onClientStatement(event.query),
  );
  return client;
}
