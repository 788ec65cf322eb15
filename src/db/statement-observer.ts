/** The client option under which Prisma's client emits a `query` event for each statement it runs (no output). */
export interface ClientQueryEvents {
  log?: { emit: 'event'; level: 'query' }[];
}

/**
 * Builds a Prisma client with `create` and, when `onClientStatement` is given, calls it with the SQL of every statement
 * the client runs through its own query pipeline (its `query` event), which the direct path of sql.ts skips: with
 * observeAdapterStatements (prisma-adapter-internals.ts), which sees both, tests tell which path a statement took.
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
