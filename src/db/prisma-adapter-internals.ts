// Everything here leans on Prisma's driver-adapter interface, which is written for adapter authors and changes with
// Prisma's version (pinned exactly in package.json). test/integration/prisma-adapter-contract.test.ts fails when an
// upgrade changes what this module relies on; src/db/sql.ts is the seam the rest of the app uses.
import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import type { ArgType, ColumnType, SqlDriverAdapter, SqlQuery, SqlQueryable, Transaction } from '@prisma/driver-adapter-utils';
import type BetterSqlite3 from 'better-sqlite3';
import { memoizeBounded } from '../bounded-memo.ts';
import { sqliteStatementsOn } from './sqlite-statements.ts';
import type { SqliteStatements } from './sqlite-statements.ts';

/**
 * Runs a query on an adapter (or one of its transactions) and returns its rows, decoded as Prisma's client decodes them.
 * On SQLite it runs on the adapter's better-sqlite3 connection itself (sqlite-statements.ts).
 */
export async function queryAdapter(
  queryable: SqlQueryable,
  strings: readonly string[],
  values: readonly unknown[],
): Promise<Record<string, unknown>[]> {
  if (queryable.provider === 'sqlite') return sqliteStatementsOf(queryable).queryRows(strings, values);
  const result = await queryable.queryRaw(toDriverQuery(strings, values));
  const { columnNames, columnTypes } = result;
  return result.rows.map((row) => {
    const object: Record<string, unknown> = {};
    for (let index = 0; index < columnNames.length; index += 1) {
      object[columnNames[index] as string] = decodeValue(row[index], columnTypes[index]);
    }
    return object;
  });
}

/** Runs a statement that changes data on an adapter (or one of its transactions); returns how many rows it changed. */
export async function executeOnAdapter(queryable: SqlQueryable, strings: readonly string[], values: readonly unknown[]): Promise<number> {
  if (queryable.provider === 'sqlite') return sqliteStatementsOf(queryable).run(strings, values);
  return queryable.executeRaw(toDriverQuery(strings, values));
}

/**
 * The statements on the better-sqlite3 connection of a SQLite adapter or of one of its transactions (which share it).
 * `@prisma/adapter-better-sqlite3` runs its own queries through `performIO` and `executeIO` (not part of the adapter
 * interface), which convert each argument by its declared type, look the text up and describe the columns again for
 * every query; the direct path does that work once per statement text instead.
 */
function sqliteStatementsOf(queryable: SqlQueryable): SqliteStatements {
  return sqliteStatementsOn(sqliteConnectionOf(queryable));
}

/**
 * Runs `work` in one of the adapter's transactions, closed the way Prisma's client closes it (its TransactionManager in
 * @prisma/client): unless the transaction's options ask for a "phantom query", the client sends COMMIT (or ROLLBACK) itself
 * and then calls commit() (or rollback()), which only releases the connection (SQLite: the adapter's lock; PostgreSQL:
 * the pooled connection). A failed COMMIT is rolled back, so the connection is never left inside a transaction.
 */
export async function runInAdapterTransaction<T>(adapter: SqlDriverAdapter, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  const transaction = await adapter.startTransaction();
  let result: T;
  try {
    result = await work(transaction);
  } catch (error) {
    // The work's error is the one to report; a ROLLBACK that fails too still releases the connection.
    await rollbackTransaction(transaction).catch(() => undefined);
    throw error;
  }
  await commitTransaction(transaction);
  return result;
}

/** The statements that close a transaction, as strings of a statement without values (one array each, so compiled once). */
const COMMIT = Object.freeze(['COMMIT']);
const ROLLBACK = Object.freeze(['ROLLBACK']);

async function commitTransaction(transaction: Transaction): Promise<void> {
  if (!transaction.options.usePhantomQuery) {
    try {
      await executeOnAdapter(transaction, COMMIT, []);
    } catch (error) {
      await rollbackTransaction(transaction).catch(() => undefined);
      throw error;
    }
  }
  await transaction.commit();
}

async function rollbackTransaction(transaction: Transaction): Promise<void> {
  try {
    if (!transaction.options.usePhantomQuery) await executeOnAdapter(transaction, ROLLBACK, []);
  } finally {
    await transaction.rollback();
  }
}

/** PostgreSQL's text of each statement's strings, its parameters numbered ($1, $2 …): a call site's strings stay the same array. */
const postgresTexts = new WeakMap<readonly string[], string>();

function toDriverQuery(strings: readonly string[], values: readonly unknown[]): SqlQuery {
  let text = postgresTexts.get(strings);
  if (text === undefined) {
    text = strings[0] ?? '';
    for (let index = 1; index < strings.length; index += 1) text += `$${index}${strings[index]}`;
    postgresTexts.set(strings, text);
  }
  return { sql: text, args: [...values], argTypes: values.map(argTypeOf) };
}

function argTypeOf(value: unknown): ArgType {
  const scalarType: ArgType['scalarType'] =
    value instanceof Date
      ? 'datetime'
      : typeof value === 'boolean'
        ? 'boolean'
        : typeof value === 'number'
          ? Number.isInteger(value)
            ? 'int'
            : 'float'
          : typeof value === 'string'
            ? 'string'
            : 'unknown';
  return { scalarType, arity: 'scalar' };
}

/**
 * A column value as the adapters hand it (better-sqlite3's integers as text, SQLite's booleans as 0/1, both databases'
 * timestamps as ISO 8601 text), turned into what Prisma's client gives for the same column.
 */
function decodeValue(value: unknown, columnType: ColumnType | undefined): unknown {
  if (value === null || value === undefined) return null;
  switch (columnType) {
    case ColumnTypeEnum.Boolean:
      return value === true || value === 1 || value === 1n || value === '1' || value === 'true';
    case ColumnTypeEnum.DateTime:
      // An adapter that leaves out the zone means UTC, as Prisma's timestamp(3) columns are written.
      return new Date(typeof value === 'string' && !/(Z|[+-]\d\d:?\d\d)$/.test(value) ? `${value.replace(' ', 'T')}Z` : (value as string));
    case ColumnTypeEnum.Int32:
    case ColumnTypeEnum.Int64:
      return typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
    default:
      return value;
  }
}

/**
 * The better-sqlite3 connection inside a connected `@prisma/adapter-better-sqlite3` adapter: the adapter keeps it in a
 * field named `client` (not part of the adapter interface). Throws when it is not there, rather than tune nothing.
 */
export function sqliteConnectionOf(adapter: SqlQueryable): BetterSqlite3.Database {
  const connection = (adapter as unknown as { client?: Partial<BetterSqlite3.Database> }).client;
  if (typeof connection?.prepare !== 'function' || typeof connection.exec !== 'function' || typeof connection.pragma !== 'function') {
    throw new Error(
      `${adapter.adapterName} no longer keeps its better-sqlite3 connection in \`client\`: see src/db/prisma-adapter-internals.ts`,
    );
  }
  return connection as BetterSqlite3.Database;
}

/** How many compiled statements a connection keeps: the app runs a few dozen distinct SQL texts. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * Compiles each SQL text once per connection. The SQLite adapter calls `prepare(sql).bind(args)` for every query and then
 * `reader`, `columns()`, `raw().all()` or `run()` (and `prepare('BEGIN').run()` to open a transaction); compiling is a large
 * part of a query's cost here. A bound better-sqlite3 statement cannot be bound again, so each call gets a small view of
 * the cached statement that passes its arguments to every run instead.
 */
export function reusePreparedStatements(connection: BetterSqlite3.Database): void {
  const compile = connection.prepare.bind(connection);
  const statementFor = memoizeBounded(STATEMENT_CACHE_SIZE, (source) => compile(source));
  // The adapter asks every query for its columns' names and declared types, which better-sqlite3 builds anew each time;
  // a compiled statement's columns stay what they were (migrations run before the first query), so ask once.
  const columnsOf = new WeakMap<BetterSqlite3.Statement, BetterSqlite3.ColumnDefinition[]>();
  const columns = (statement: BetterSqlite3.Statement) => {
    let known = columnsOf.get(statement);
    if (known === undefined) {
      known = statement.columns();
      columnsOf.set(statement, known);
    }
    return known;
  };
  const withArguments = (statement: BetterSqlite3.Statement, args: unknown[]) => ({
    reader: statement.reader,
    columns: () => columns(statement),
    run: () => statement.run(args),
    raw: () => ({ all: () => statement.raw(true).all(args) }),
  });
  connection.prepare = ((source: string) => {
    const statement = statementFor(source);
    return {
      reader: statement.reader,
      run: (...args: unknown[]) => statement.run(...args),
      bind: (args: unknown[]) => withArguments(statement, args),
    };
  }) as unknown as typeof connection.prepare;
}

/**
 * Makes a connected adapter call `onStatement` with the SQL of every statement it runs, in its transactions too ('BEGIN'
 * for each transaction), for SQLite and PostgreSQL alike, whichever path sent it (Prisma's client or the direct one).
 * Tests count a request's writes with it.
 */
export function observeAdapterStatements(adapter: SqlDriverAdapter, onStatement: (sql: string) => void): void {
  // Prisma's client sends its statements through queryRaw and executeRaw; the direct path on SQLite runs its own on the
  // connection (sqlite-statements.ts), which tells its listeners. Each statement is seen once, whichever path sent it.
  const observe = (queryable: SqlQueryable): void => {
    const target = queryable as unknown as Record<string, (query: SqlQuery) => Promise<unknown>>;
    for (const method of ['queryRaw', 'executeRaw']) {
      const run = target[method] as (query: SqlQuery) => Promise<unknown>;
      target[method] = (query) => {
        onStatement(query.sql);
        return run.call(queryable, query);
      };
    }
  };
  if (adapter.provider === 'sqlite') sqliteStatementsOf(adapter).observe(onStatement);
  const { startTransaction } = adapter;
  adapter.startTransaction = async (isolationLevel) => {
    const transaction = await startTransaction.call(adapter, isolationLevel);
    onStatement('BEGIN');
    observe(transaction);
    return transaction;
  };
  observe(adapter);
}
