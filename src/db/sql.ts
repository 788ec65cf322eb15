import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import { executeOnAdapter, queryAdapter, runInAdapterTransaction } from './prisma-adapter-internals.ts';

/** A value sent with a statement, always as a parameter, never spliced into its text. */
export type SqlValue = string | number | boolean | Date | null;

/** One SQL statement: its text around the values. Built with the `sql` tag only. */
export interface SqlStatement {
  readonly strings: TemplateStringsArray;
  readonly values: readonly SqlValue[];
}

/** A row as Prisma's client would give it: DateTime columns as Date, Boolean columns as boolean, integers as number. */
export type SqlRow = Record<string, unknown>;

/**
 * The strings of each call site whose values include statements, with the statements spliced there: the same call
 * site with the same statements (module constants such as a store's list of columns) gets the same strings back, so
 * the driver's text for them is built once (prisma-adapter-internals.ts keeps it per strings).
 */
const splicedStrings = new WeakMap<TemplateStringsArray, { inner: readonly SqlStatement[]; strings: TemplateStringsArray }>();

/**
 * A tagged template: sql`SELECT "id" FROM "User" WHERE "id" = ${id}`. Write SQL valid on SQLite and PostgreSQL.
 * A value that is itself a statement (a list of columns) is spliced in with its own values.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly (SqlValue | SqlStatement)[]): SqlStatement {
  if (!values.some(isStatement)) return { strings, values: values as readonly SqlValue[] };
  const inner = values.filter(isStatement);
  const flat = values.flatMap((value) => (isStatement(value) ? value.values : [value]));
  const known = splicedStrings.get(strings);
  if (known !== undefined && known.inner.length === inner.length && known.inner.every((statement, index) => statement === inner[index])) {
    return { strings: known.strings, values: flat };
  }
  const parts: string[] = [strings[0] ?? ''];
  values.forEach((value, index) => {
    const after = strings[index + 1] ?? '';
    if (!isStatement(value)) {
      parts.push(after);
      return;
    }
    const innerStrings = value.strings;
    parts[parts.length - 1] += innerStrings[0] ?? '';
    for (let innerIndex = 1; innerIndex < innerStrings.length; innerIndex += 1) parts.push(innerStrings[innerIndex] ?? '');
    parts[parts.length - 1] += after;
  });
  // Prisma's $queryRaw takes a template's strings only (it looks for `raw`).
  const spliced = Object.freeze(Object.assign(parts, { raw: Object.freeze([...parts]) })) as unknown as TemplateStringsArray;
  splicedStrings.set(strings, { inner, strings: spliced });
  return { strings: spliced, values: flat };
}

function isStatement(value: SqlValue | SqlStatement): value is SqlStatement {
  return typeof value === 'object' && value !== null && !(value instanceof Date);
}

/** The statements a store runs: rows of a query, or how many rows a change changed. */
export interface SqlQueries {
  queryRows(statement: SqlStatement): Promise<SqlRow[]>;
  run(statement: SqlStatement): Promise<number>;
}

/**
 * The one way the stores reach the database (sessions, users and tokens, tokens for other resources, admin-consent
 * links, rate-limit counters, key rotation). `transaction` commits when `work` resolves and rolls back when it throws.
 */
export interface SqlDatabase extends SqlQueries {
  transaction<T>(work: (transaction: SqlQueries) => Promise<T>): Promise<T>;
}

/** Prisma's raw queries, on its client or inside one of its interactive transactions. */
interface RawQueries {
  $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
  $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** What the fallback needs of Prisma's client (either generated client): its raw queries and interactive transactions. */
export interface RawQueryClient extends RawQueries {
  $transaction<T>(work: (client: RawQueries) => Promise<T>): Promise<T>;
}

/**
 * The direct path: statements straight to a connected driver adapter, the same connection (pool) Prisma's client uses,
 * skipping the client's query pipeline (about 50 µs per signed-in read on SQLite against 220 µs through `$queryRaw`);
 * on SQLite, straight to the adapter's better-sqlite3 connection (prisma-adapter-internals.ts, sqlite-statements.ts).
 * Needs no Prisma client: a bare adapter from an adapter factory's `connect()` will do.
 */
export function sqlOnDriverAdapter(adapter: SqlDriverAdapter): SqlDatabase {
  return {
    queryRows: (statement) => queryAdapter(adapter, statement.strings, statement.values),
    run: (statement) => executeOnAdapter(adapter, statement.strings, statement.values),
    transaction: (work) =>
      runInAdapterTransaction(adapter, (transaction) =>
        work({
          queryRows: (statement) => queryAdapter(transaction, statement.strings, statement.values),
          run: (statement) => executeOnAdapter(transaction, statement.strings, statement.values),
        }),
      ),
  };
}

/** The fallback: the same statements through Prisma's client (`$queryRaw`, `$executeRaw`, `$transaction`), which gives the same rows. */
export function sqlThroughPrismaClient(client: RawQueryClient): SqlDatabase {
  const queries = (runner: RawQueries): SqlQueries => ({
    queryRows: async (statement) => runner.$queryRaw<SqlRow[]>(statement.strings, ...statement.values),
    run: async (statement) => runner.$executeRaw(statement.strings, ...statement.values),
  });
  const { queryRows, run } = queries(client);
  return { queryRows, run, transaction: (work) => client.$transaction((runner) => work(queries(runner))) };
}

/**
 * The direct path once Prisma's client has connected its driver adapter (`connectedAdapter` gives it), the fallback
 * until then: a client connects its adapter at its first statement, so only that one goes through the client.
 */
export function sqlOnPrismaClient(client: RawQueryClient, connectedAdapter: () => SqlDriverAdapter | undefined): SqlDatabase {
  const fallback = sqlThroughPrismaClient(client);
  let direct: { adapter: SqlDriverAdapter; sql: SqlDatabase } | undefined;
  const current = (): SqlDatabase => {
    const adapter = connectedAdapter();
    if (adapter === undefined) return fallback;
    if (direct?.adapter !== adapter) direct = { adapter, sql: sqlOnDriverAdapter(adapter) };
    return direct.sql;
  };
  return {
    queryRows: (statement) => current().queryRows(statement),
    run: (statement) => current().run(statement),
    transaction: (work) => current().transaction(work),
  };
}

/** The direct path on an adapter that the seam connects itself, and a way to let the connection go. */
export interface ConnectingSqlDatabase extends SqlDatabase {
  /** Disposes the connection when one was opened; a later statement connects again, as Prisma's client does. */
  disconnect(): Promise<void>;
}

/**
 * The direct path with no Prisma client at all: `connect` (an adapter factory's, e.g. TunedSQLiteAdapter's) is called at
 * the first statement and its adapter kept; a connection that failed is asked for again by the next statement.
 */
export function sqlOnConnectingAdapter(connect: () => Promise<SqlDriverAdapter>): ConnectingSqlDatabase {
  let connecting: Promise<SqlDatabase & { adapter: SqlDriverAdapter }> | undefined;
  const current = (): Promise<SqlDatabase & { adapter: SqlDriverAdapter }> => {
    connecting ??= connect().then(
      (adapter) => ({ adapter, ...sqlOnDriverAdapter(adapter) }),
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    return connecting;
  };
  return {
    queryRows: async (statement) => (await current()).queryRows(statement),
    run: async (statement) => (await current()).run(statement),
    transaction: async (work) => (await current()).transaction(work),
    async disconnect() {
      const opened = connecting;
      connecting = undefined;
      const connected = await opened?.catch(() => undefined);
      await connected?.adapter.dispose();
    },
  };
}
