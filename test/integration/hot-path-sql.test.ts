import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabaseKind } from '../../dev/postgres-server.ts';
import { statementOn } from '../support/database.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';

/** The statements of one step of a sign-in: those the database ran, and those of them that went through Prisma's client. */
interface Step {
  readonly ran: readonly string[];
  readonly throughClient: readonly string[];
}

/** The hot paths the benchmarks time (CPU per sign-in, signed-in page req/s), each with the step that runs it. */
const HOT_PATHS: readonly { name: string; step: 'connect' | 'callback' | 'signedInPage'; statement: RegExp }[] = [
  { name: "the session save of /connect (the pending sign-in's new session)", step: 'connect', statement: statementOn('write', 'Session') },
  { name: "the callback's session read", step: 'callback', statement: statementOn('read', 'Session') },
  { name: "the callback's session takeover and save", step: 'callback', statement: statementOn('write', 'Session') },
  { name: "the sign-in's write of the user", step: 'callback', statement: statementOn('write', 'User') },
  { name: "the sign-in's write of the token set", step: 'callback', statement: statementOn('write', 'TokenSet') },
  { name: 'the signed-in read of the session with its token set', step: 'signedInPage', statement: statementOn('read', 'TokenSet') },
];

const kind = testDatabaseKind();

describe(`the path of the hot SQL statements (${kind})`, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  /** Runs `request` and returns the statements it caused. */
  const stepOf = async (request: () => Promise<unknown>): Promise<Step> => {
    const { statements, clientStatements } = harness.database;
    const [ranMark, clientMark] = [statements.length, clientStatements.length];
    await request();
    return { ran: statements.slice(ranMark), throughClient: clientStatements.slice(clientMark) };
  };

  /** A sign-in and the signed-in page, each step with the statements it caused. */
  const signInSteps = async (): Promise<Record<(typeof HOT_PATHS)[number]['step'], Step>> => {
    // Prisma connects the driver adapter at its client's first statement, which registers the direct path: a process
    // that has answered once (here /readyz, which asks the database through the client).
    assert.equal((await fetch(`${harness.baseUrl}/readyz`)).status, 200);
    const browser = harness.browser();
    let callbackUrl = '';
    const connect = await stepOf(async () => {
      callbackUrl = await harness.authorize(browser);
    });
    const callback = await stepOf(async () => assert.equal((await browser.request(callbackUrl)).status, 303));
    const signedInPage = await stepOf(async () => assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/));
    return { connect, callback, signedInPage };
  };

  if (kind === 'sqlite')
    it("when a person signs in and opens the signed-in page on SQLite, then the session reads and saves, the sign-in's writes and the signed-in read run straight on the driver adapter, none through Prisma's client (the path the benchmarks measure)", async () => {
      const steps = await signInSteps();
      for (const { name, step, statement } of HOT_PATHS) {
        const { ran, throughClient } = steps[step];
        assert.ok(
          ran.some((sql) => statement.test(sql)),
          `${name}: no such statement ran (${ran.join(' | ').slice(0, 500)})`,
        );
        assert.deepEqual(
          throughClient.filter((sql) => statement.test(sql)),
          [],
          `${name} went through Prisma's client instead of the driver adapter`,
        );
      }
    });
  else
    it("when a person signs in and opens the signed-in page on PostgreSQL, then the session reads and saves, the sign-in's writes and the signed-in read go through Prisma's client: no direct driver path is registered there, and the benchmarks measure SQLite only", async () => {
      const steps = await signInSteps();
      for (const { name, step, statement } of HOT_PATHS) {
        const { throughClient } = steps[step];
        assert.ok(
          throughClient.some((sql) => statement.test(sql)),
          `${name} did not go through Prisma's client: a direct path on PostgreSQL needs its own benchmark and this claim changed`,
        );
      }
    });
});
