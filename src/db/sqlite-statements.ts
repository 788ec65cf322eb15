import type BetterSqlite3 from 'better-sqlite3';

/** A statement's kind of columns, by their declared types: those that decode differently from what SQLite returns. */
type SqliteColumnKind = 'boolean' | 'datetime' | 'integer' | 'other';

/** A statement compiled once for its text, with what decoding its rows needs. */
interface CompiledStatement {
  readonly statement: BetterSqlite3.Statement;
  /** True when it returns rows (a SELECT, or a write with RETURNING). */
  readonly reader: boolean;
  readonly names: readonly string[];
  readonly kinds: readonly SqliteColumnKind[];
  /** An object with each column as a property (null), in their order: each row starts as a copy of it. */
  readonly rowTemplate: Readonly<Record<string, null>>;
}

/** Sees the SQL of every statement run (tests count a request's writes with it). */
export type StatementListener = (sql: string) => void;

/**
 * The statements of the direct path on SQLite, run straight on the better-sqlite3 connection that Prisma's adapter
 * opened (prisma-adapter-internals.ts finds it): each text compiled once, its arguments written as the adapter writes
 * them, its rows decoded as Prisma's client decodes them. On the hot paths of a sign-in this is about half the
 * JavaScript per statement of the adapter's own runners, which convert every argument by its declared type, compile or
 * look up the text, and describe the columns again for each query (docs/BENCHMARKS.md).
 */
export interface SqliteStatements {
  /** The rows of a statement whose text is `strings` joined by `?`; a statement that returns none gives []. */
  queryRows(strings: readonly string[], values: readonly unknown[]): Record<string, unknown>[];
  /** Runs a statement that returns no rows; how many rows it changed. */
  run(strings: readonly string[], values: readonly unknown[]): number;
  /** Adds a listener that sees the SQL of every statement run here. */
  observe(listener: StatementListener): void;
}

/** Each connection's statements, made at its first statement. */
const statementsByConnection = new WeakMap<BetterSqlite3.Database, SqliteStatements>();

/** The statements of `connection` (one set per connection, however many adapters or transactions share it). */
export function sqliteStatementsOn(connection: BetterSqlite3.Database): SqliteStatements {
  let statements = statementsByConnection.get(connection);
  if (statements === undefined) {
    statements = createSqliteStatements(connection);
    statementsByConnection.set(connection, statements);
  }
  return statements;
}

function createSqliteStatements(connection: BetterSqlite3.Database): SqliteStatements {
  // better-sqlite3's own prepare, whatever replaced the connection's (prisma-adapter-internals.ts reusePreparedStatements).
  const { prepare } = Object.getPrototypeOf(connection) as BetterSqlite3.Database;
  // A call site's strings stay the same array (sql.ts keeps spliced ones too), so the text is joined and compiled once.
  const compiled = new WeakMap<readonly string[], CompiledStatement>();
  const listeners: StatementListener[] = [];
  const compiledFor = (strings: readonly string[]): CompiledStatement => {
    let known = compiled.get(strings);
    if (known === undefined) {
      known = compile(prepare.call(connection, strings.join('?')));
      compiled.set(strings, known);
    }
    for (const listener of listeners) listener(known.statement.source);
    return known;
  };
  return {
    queryRows(strings, values) {
      const { statement, reader, names, kinds, rowTemplate } = compiledFor(strings);
      if (!reader) {
        runStatement(statement, values.map(sqliteArgument));
        return [];
      }
      return allRows(statement, values.map(sqliteArgument)).map((row) => {
        const object: Record<string, unknown> = { ...rowTemplate };
        for (let index = 0; index < names.length; index += 1) object[names[index] as string] = decodeColumn(row[index], kinds[index]);
        return object;
      });
    },
    run(strings, values) {
      return runStatement(compiledFor(strings).statement, values.map(sqliteArgument)).changes;
    },
    observe(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * A compiled statement with its columns, asked once: they stay what they were, as migrations run before the first
 * query. Rows come as arrays (raw mode) with integers as bigint (the adapter turns on safe integers for the connection).
 *
 * A row object is a copy of the statement's template, its values then written over the template's nulls: one hidden
 * class per statement, built by JSON.parse with every column at once. Built from {} one column at a time, as before, a
 * row of the signed-in read (25 columns) went past what V8 keeps as a fast object for properties added by computed
 * name and became a dictionary on every read (--log-maps: "TooManyFastProperties", twice a sign-in).
 */
function compile(statement: BetterSqlite3.Statement): CompiledStatement {
  if (!statement.reader) return { statement, reader: false, names: [], kinds: [], rowTemplate: {} };
  const columns = statement.columns();
  statement.raw(true);
  const names = columns.map((column) => column.name);
  const rowTemplate = JSON.parse(JSON.stringify(Object.fromEntries(names.map((name) => [name, null])))) as Record<string, null>;
  return { statement, reader: true, names, kinds: columns.map((column) => columnKind(column.type)), rowTemplate };
}

// The two calls into SQLite itself: bench/profile.ts counts their self time as the driver's, not ours.
function allRows(statement: BetterSqlite3.Statement, args: unknown[]): unknown[][] {
  return statement.all(args) as unknown[][];
}

function runStatement(statement: BetterSqlite3.Statement, args: unknown[]): BetterSqlite3.RunResult {
  return statement.run(args);
}

/**
 * An argument as `@prisma/adapter-better-sqlite3` writes it (its mapArg, default timestamp format): booleans as 0/1,
 * dates as ISO 8601 text with `+00:00`, so a row reads the same whichever path wrote it
 * (test/integration/prisma-adapter-contract.test.ts checks the stored text).
 */
function sqliteArgument(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  return value;
}

/** The adapter's mapDeclType, cut to the kinds that decode differently. */
function columnKind(declaredType: string | null): SqliteColumnKind {
  switch (declaredType?.toUpperCase()) {
    case 'BOOLEAN':
      return 'boolean';
    case 'DATETIME':
    case 'TIMESTAMP':
      return 'datetime';
    case 'TINYINT':
    case 'SMALLINT':
    case 'MEDIUMINT':
    case 'INT':
    case 'INTEGER':
    case 'SERIAL':
    case 'INT2':
    case 'BIGINT':
    case 'UNSIGNED BIG INT':
    case 'INT8':
      return 'integer';
    default:
      return 'other';
  }
}

/** A column's value as Prisma's client gives it: Date, boolean, number, or the value as stored. */
function decodeColumn(value: unknown, kind: SqliteColumnKind | undefined): unknown {
  if (value === null || value === undefined) return null;
  // Blobs come as byte arrays from Prisma's client (its mapRow).
  if (value instanceof Uint8Array) return Array.from(value);
  switch (kind) {
    case 'boolean':
      return value === 1n || value === 1 || value === '1' || value === 'true' || value === true;
    case 'datetime':
      // A timestamp stored as milliseconds since 1970 (Prisma's unixepoch-ms format) rather than as text; text without
      // a zone is UTC, as Prisma's timestamps are written.
      if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
      return new Date(typeof value === 'string' && !/(Z|[+-]\d\d:?\d\d)$/.test(value) ? `${value.replace(' ', 'T')}Z` : (value as string));
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : Number(value);
    default:
      // An expression's column (COUNT(*), a literal) has no declared type: its integers decode as numbers too.
      return typeof value === 'bigint' ? Number(value) : value;
  }
}
