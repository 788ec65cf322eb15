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
