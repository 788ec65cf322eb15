import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../../src/db/open-database.ts';
import { sql } from '../../src/db/sql.ts';
import { DatabaseSessionStore } from '../../src/sessions/session-store.ts';
import { sessionCookieSettings } from '../../src/sessions/session-middleware.ts';
import { createTokenCipher, keyIdOf } from '../../src/tokens/token-cipher.ts';
import { reencryptTokens } from '../../src/tokens/key-rotation.ts';
import { createTestLogger, startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { writesAmong } from '../support/database.ts';

/** The writes of the sign-in itself: on PostgreSQL the shared rate-limit counter (RateLimitHit) adds its own, counted apart. */
const signInWritesAmong = (statements: readonly string[]) => writesAmong(statements).filter((sql) => !/"RateLimitHit"/.test(sql));
import type { HttpBrowser } from '../support/http-browser.ts';
import { startInstance } from '../support/instances.ts';
import { COMMAND_TIME_LIMIT_MS, waitUntil } from '../support/bounded-waits.ts';
import { SESSION_COOKIE, assertRejectPage, assertSignedOut, resetHarness, sessionRowOf, signIn, useHarness } from '../support/outcomes.ts';
import { testDatabaseKind } from '../../dev/postgres-server.ts';

/** Resolves once `statements` (from `from` on) holds one that matches; fails after 20 s rather than hang the file. */
function statementSeen(statements: readonly string[], from: number, pattern: RegExp): Promise<void> {
  return waitUntil(() => statements.slice(from).some((sql) => pattern.test(sql)), `a statement matching ${pattern}`, 20_000);
}

/**
 * The bytes of the database file with its -wal and -shm, as someone copying the data folder would get them. Read by
 * another process: closing a descriptor of the file here would drop this process's POSIX locks on it, the app's and
 * the held reader's (https://www.sqlite.org/howtocorrupt.html, 2.2).
 */
function databaseBytes(file: string): string {
  return ['', '-wal', '-shm']
    .map((suffix) => file + suffix)
    .filter((name) => fs.existsSync(name))
    .map((name) => execFileSync('cat', [name], { maxBuffer: 64 * 1024 * 1024 }).toString('latin1'))
    .join('\n');
}

/** The end of each ciphertext of the one stored token set: enough to find it in the files' bytes. */
async function storedCiphertexts(harness: Harness): Promise<string[]> {
  const row = await harness.database.prisma.tokenSet.findFirstOrThrow();
  return [row.accessToken, row.refreshToken!, row.idToken].map((sealed) => sealed.slice(-40));
}

/** The stored token set is sealed with `key`, and none of `oldCiphertexts` is left in the database files. */
async function assertRotatedTo(harness: Harness, key: Buffer, oldCiphertexts: readonly string[]): Promise<void> {
  assert.match((await harness.database.prisma.tokenSet.findFirstOrThrow()).accessToken, new RegExp(`^v1\\.${keyIdOf(key)}\\.`));
  const bytes = databaseBytes(harness.database.file);
  for (const ciphertext of oldCiphertexts) assert.ok(!bytes.includes(ciphertext), 'no page sealed with the old key');
}

/** Resolves once none of `ciphertexts` is in the database files; fails after 20 s rather than hang the file. */
async function ciphertextsGone(file: string, ciphertexts: readonly string[]): Promise<void> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const bytes = databaseBytes(file);
    if (ciphertexts.every((ciphertext) => !bytes.includes(ciphertext))) return;
    if (Date.now() > deadline) assert.fail('a ciphertext is still in the database files 20 s after the reader ended');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Another connection with an open read transaction on the file, as a backup or the sqlite3 shell keeps while it reads. */
function holdReader(file: string): () => void {
  const reader = new BetterSqlite3(file);
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM "TokenSet"').get();
  return () => {
    reader.exec('COMMIT');
    reader.close();
  };
}

/** A real `npm run -s rotate-key` process on the harness's database, its output collected as it comes. */
function startRotateKey(harness: Harness, keys: { current: Buffer; previous: Buffer[] }, args: string[]) {
  const child = spawn('npm', ['run', '-s', 'rotate-key', '--', ...args], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATABASE_URL: harness.database.url,
      TOKEN_ENCRYPTION_KEY: keys.current.toString('base64'),
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: keys.previous.map((key) => key.toString('base64')).join(','),
    },
    // SIGTERM, which npm passes on to the script: a rotation that hangs ends, and stderrMatching fails instead of waiting.
    timeout: COMMAND_TIME_LIMIT_MS,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // npm that cannot be spawned reports it as 'error', then 'close': its message becomes the output the test reads.
  child.on('error', (error) => {
    stderr += `${error.message}\n`;
  });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    exit,
    /** Resolves when stderr matches `pattern`; fails if the process ends first. */
    async stderrMatching(pattern: RegExp): Promise<void> {
      let ended = false;
      void exit.then(() => {
        ended = true;
      });
      while (!pattern.test(stderr)) {
        if (ended) assert.fail(`npm run rotate-key ended without printing ${pattern}: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

async function csrfOf(browser: HttpBrowser, baseUrl: string): Promise<string> {
  return (await browser.request(`${baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
}

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const SESSION_TAKEOVER = /^UPDATE .*Session.* SET .*destroyed/;

/** The session id inside a browser's signed session cookie (`s:<id>.<signature>`). */
function sessionIdOf(browser: HttpBrowser): string {
  return decodeURIComponent(browser.cookie(SESSION_COOKIE)!).slice(2).split('.')[0]!;
}

/** Rewrites the data of the browser's session row, as a bad write, an operator or a restored backup might leave it. */
async function alterStoredSession(harness: Harness, browser: HttpBrowser, alter: (data: Record<string, unknown>) => void): Promise<void> {
  const id = sessionIdOf(browser);
  const data = JSON.parse((await harness.database.prisma.session.findUniqueOrThrow({ where: { id } })).data) as Record<string, unknown>;
  alter(data);
  await harness.database.prisma.session.update({ where: { id }, data: { data: JSON.stringify(data) } });
}

/** The stored cookie of a session row, to change one of its fields. */
const cookieOf = (data: Record<string, unknown>) => data.cookie as Record<string, unknown>;

/** Session rows that are well-formed JSON objects with one field of the wrong type (issue 15), and the field the warning names. */
const WRONG_SESSION_ROWS: readonly { condition: string; field: string; alter: (data: Record<string, unknown>) => void }[] = [
  {
    condition: 'cookie.originalMaxAge is a string',
    field: 'cookie.originalMaxAge',
    alter: (data) => {
      cookieOf(data).originalMaxAge = '1800000';
    },
  },
  {
    condition: 'cookie is null',
    field: 'cookie',
    alter: (data) => {
      data.cookie = null;
    },
  },
  {
    condition: 'cookie is a string',
    field: 'cookie',
    alter: (data) => {
      data.cookie = 'o365signin.sid';
    },
  },
  {
    condition: 'cookie is missing',
    field: 'cookie',
    alter: (data) => {
      delete data.cookie;
    },
  },
  {
    condition: 'userId is an object',
    field: 'userId',
    alter: (data) => {
      data.userId = { id: data.userId ?? 'someone' };
    },
  },
  {
    condition: 'csrfToken is a number',
    field: 'csrfToken',
    alter: (data) => {
      data.csrfToken = 1234567890;
    },
  },
  {
    condition: 'pendingSignIns is not an array',
    field: 'pendingSignIns',
    alter: (data) => {
      data.pendingSignIns = { 0: (data.pendingSignIns as unknown[] | undefined)?.[0] ?? null, length: 1 };
    },
  },
  {
    condition: 'cookie.expires is not a date',
    field: 'cookie.expires',
    alter: (data) => {
      cookieOf(data).expires = 'the day after tomorrow';
    },
  },
];

describe('M. stored data, several instances, database locks', () => {
  let harness: Harness;
  let graphRequests: http.IncomingMessage[];
  let releaseGraph: () => void;
  let graph: http.Server;
  before(async () => {
    // A Graph stand-in that answers only when the test says so: a request still running at a chosen moment.
    graph = http.createServer((req, res) => {
      graphRequests.push(req);
      const answer = () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ displayName: 'Held', mail: 'held@contoso.test', userPrincipalName: 'held@contoso.test' }));
      const previous = releaseGraph;
      releaseGraph = () => {
        previous();
        answer();
      };
    });
    await new Promise<void>((resolve) => graph.listen(0, '127.0.0.1', resolve));
    harness = await startHarness({ env: { GRAPH_BASE_URL: `http://127.0.0.1:${(graph.address() as AddressInfo).port}` } });
  });
  after(async () => {
    await harness.close();
    graph.closeAllConnections();
    await new Promise<void>((resolve) => graph.close(() => resolve()));
  });
  beforeEach(async () => {
    graphRequests = [];
    releaseGraph = () => undefined;
    await resetHarness(harness);
  });

  it('S48: when the same callback reaches two instances at once, then the code is redeemed once and at most one browser is signed in', async () => {
    const second = await startInstance(harness, { logs: harness.logs });
    try {
      const browser = harness.browser();
      const callbackUrl = new URL(await harness.authorize(browser));
      const onSecond = new URL(callbackUrl.pathname + callbackUrl.search, second.baseUrl);
      const tokenRequestsBefore = harness.idp.tokenRequestCount();
      const firstMark = harness.database.statements.length;
      const secondMark = second.statements.length;
      // Both copies read the pending state before either can consume it: the write lock is held until both have tried.
      const release = await harness.database.holdWriteLock();
      const pages = Promise.all([browser.request(callbackUrl.href), browser.request(onSecond.href)]);
      try {
        await Promise.all([
          statementSeen(harness.database.statements, firstMark, SESSION_TAKEOVER),
          statementSeen(second.statements, secondMark, SESSION_TAKEOVER),
        ]);
      } finally {
        await release();
      }
      const [first, other] = await pages;
      assert.deepEqual([first.status, other.status].sort(), [303, 400]);
      assertRejectPage(first.status === 400 ? first : other);
      assert.equal(harness.idp.tokenRequestCount() - tokenRequestsBefore, 1, 'the token endpoint was called once');
      const signedIn = (await harness.database.prisma.session.findMany({ where: { destroyed: false } })).filter(
        (row) => (JSON.parse(row.data) as { userId?: string }).userId !== undefined,
      );
      assert.equal(signedIn.length, 1, 'one signed-in session');
    } finally {
      await second.close();
    }
  });

  it('S49: when a request still running on another instance ends after sign-out, then it does not write the session back', async () => {
    const second = await startInstance(harness, { logs: harness.logs });
    try {
      const { browser } = await signIn(harness);
      const csrf = await csrfOf(browser, harness.baseUrl);
      const cookie = browser.cookie(SESSION_COOKIE)!;
      const slow = browser.request(`${second.baseUrl}/graph-check`, { form: { _csrf: csrf } });
      await waitUntil(() => graphRequests.length > 0, 'the Graph check of the other instance to reach Graph');
      assert.equal((await browser.request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } })).status, 303);
      releaseGraph();
      assert.equal((await slow).status, 303);
      assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0, 'no live session came back');
      assert.deepEqual(
        await sessionRowOf(harness, cookie),
        { destroyed: true, data: '{}', userId: null },
        'the late save wrote nothing into the destroyed row: it stays destroyed and empty',
      );
      for (const baseUrl of [harness.baseUrl, second.baseUrl]) {
        const replay = harness.browser();
        replay.setCookie(SESSION_COOKIE, cookie);
        const home = await replay.request(`${baseUrl}/`);
        assert.doesNotMatch(home.body, /Signed in as/);
      }
    } finally {
      await second.close();
    }
  });

  it('S52: when another connection holds the write lock, then a static file and a signed-in page answer while it is held, and a sign-out waits for it without blocking them', async () => {
    const reader = (await signIn(harness)).browser;
    const writer = (await signIn(harness, harness.idp.accounts[1])).browser;
    const csrf = await csrfOf(writer, harness.baseUrl);
    const mark = harness.database.statements.length;
    let released = false;
    const releaseLock = await harness.database.holdWriteLock();
    const lockReleased = new Promise<void>((resolve) => setTimeout(resolve, 3000)).then(async () => {
      released = true;
      await releaseLock();
    });
    try {
      const signOut = writer
        .request(`${harness.baseUrl}/logout`, { form: { _csrf: csrf } })
        .then((page) => ({ page, afterRelease: released }));
      await statementSeen(harness.database.statements, mark, SESSION_TAKEOVER);
      const stylesheet = await reader.request(`${harness.baseUrl}/styles.css`);
      assert.equal(stylesheet.status, 200);
      assert.equal(released, false, 'the stylesheet came while the lock was held');
      const home = await reader.request(`${harness.baseUrl}/`);
      assert.match(home.body, /Signed in as/);
      assert.equal(released, false, 'the signed-in page came while the lock was held');
      const { page, afterRelease } = await signOut;
      assert.equal(page.status, 303, 'the sign-out went through once the lock was released');
      assert.equal(afterRelease, true);
      await assertSignedOut(harness, writer);
    } finally {
      await lockReleased;
    }
  });

  // SQLite only: it reads the database files' bytes; PostgreSQL's files are the server's.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when a person uses Forget my token, then its ciphertexts are in none of the database files', async () => {
      const { browser } = await signIn(harness);
      const ciphertexts = await storedCiphertexts(harness);
      const before = databaseBytes(harness.database.file);
      for (const ciphertext of ciphertexts) assert.ok(before.includes(ciphertext), 'the stored ciphertext is in the files before');
      const csrf = await csrfOf(browser, harness.baseUrl);
      assert.equal((await browser.request(`${harness.baseUrl}/forget`, { form: { _csrf: csrf } })).status, 303);
      assert.equal(await harness.database.prisma.tokenSet.count(), 0);
      const afterForget = databaseBytes(harness.database.file);
      for (const ciphertext of ciphertexts) assert.ok(!afterForget.includes(ciphertext), 'no ciphertext of the forgotten token is left');
    });

  // SQLite only: a reader of the file, and the file's bytes.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when another connection reads the database during Forget my token (a backup), then the person is signed out with the confirmation, and the ciphertexts leave the file and the -wal once the reader ends, with no further request', async () => {
      const { browser } = await signIn(harness);
      const ciphertexts = await storedCiphertexts(harness);
      const csrf = await csrfOf(browser, harness.baseUrl);
      const releaseReader = holdReader(harness.database.file);
      try {
        const forget = await browser.request(`${harness.baseUrl}/forget`, { form: { _csrf: csrf } });
        assert.equal(forget.status, 303, forget.body.slice(0, 300));
        const home = await browser.request(`${harness.baseUrl}/`);
        assert.match(home.body, /Your token is forgotten/);
        await assertSignedOut(harness, browser);
        assert.equal(await harness.database.prisma.tokenSet.count(), 0);
        const held = databaseBytes(harness.database.file);
        assert.ok(
          ciphertexts.some((ciphertext) => held.includes(ciphertext)),
          'while the reader keeps its snapshot, the old bytes are still in the files',
        );
      } finally {
        releaseReader();
      }
      // No request from here on: the app's own checkpoint retry must empty the WAL.
      await ciphertextsGone(harness.database.file, ciphertexts);
    });

  // SQLite only: a reader of the file, and the file's bytes.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when the app stops while a reader still blocks the checkpoint after Forget my token, then the next start erases the ciphertexts as it opens the database', async () => {
      const stopping = await startInstance(harness);
      let stopped = false;
      try {
        const { browser } = await signIn(harness);
        const ciphertexts = await storedCiphertexts(harness);
        const csrf = await csrfOf(browser, stopping.baseUrl);
        const releaseReader = holdReader(harness.database.file);
        try {
          assert.equal((await browser.request(`${stopping.baseUrl}/forget`, { form: { _csrf: csrf } })).status, 303);
          await stopping.close();
          stopped = true;
        } finally {
          releaseReader();
        }
        // The harness's connection stays open (as a backup tool's may), so the reader's close checkpoints nothing.
        const left = databaseBytes(harness.database.file);
        assert.ok(
          ciphertexts.some((ciphertext) => left.includes(ciphertext)),
          'the stopped instance left the old bytes in the files',
        );
        const restarted = openDatabase(harness.database.url);
        try {
          await restarted.sql.queryRows(sql`SELECT 1`);
          await ciphertextsGone(harness.database.file, ciphertexts);
        } finally {
          await restarted.close();
        }
      } finally {
        if (!stopped) await stopping.close();
      }
    });

  // SQLite only: it reads the database files' bytes; PostgreSQL's files are the server's.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when npm run rotate-key re-encrypts the tokens, then no ciphertext sealed with the old key is left in the database files', async () => {
      await signIn(harness);
      const oldCiphertexts = await storedCiphertexts(harness);
      const newKey = crypto.randomBytes(32);
      const report = await reencryptTokens(harness.database.handle, createTokenCipher([newKey, harness.config.tokenEncryptionKey]));
      assert.equal(report.reencrypted, 1);
      await assertRotatedTo(harness, newKey, oldCiphertexts);
    });

  // SQLite only: a reader of the file, and the file's bytes.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when npm run rotate-key meets a reader of the database that ends while it waits, then it prints its summary and no old-key ciphertext is left in the files', async () => {
      await signIn(harness);
      const oldCiphertexts = await storedCiphertexts(harness);
      const newKey = crypto.randomBytes(32);
      const releaseReader = holdReader(harness.database.file);
      let rotation: ReturnType<typeof startRotateKey>;
      try {
        rotation = startRotateKey(harness, { current: newKey, previous: [harness.config.tokenEncryptionKey] }, ['--wait', '300']);
        await rotation.stderrMatching(/Waiting up to 300 s for another program reading the database/);
      } finally {
        releaseReader();
      }
      const { code, stdout, stderr } = await rotation.exit;
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, new RegExp(`Re-encrypted 1 token set\\(s\\) under key ${keyIdOf(newKey)}; 0 could not be read`));
      await assertRotatedTo(harness, newKey, oldCiphertexts);
    });

  // SQLite only: a reader of the file, and the file's bytes.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when npm run rotate-key meets a reader of the database that never ends, then it exits 3 with one paragraph (no stack) saying the rows are re-encrypted and to run it again, which then erases the old ciphertexts', async () => {
      await signIn(harness);
      const oldCiphertexts = await storedCiphertexts(harness);
      const keys = { current: crypto.randomBytes(32), previous: [harness.config.tokenEncryptionKey] };
      const releaseReader = holdReader(harness.database.file);
      let blocked: { code: number | null; stdout: string; stderr: string };
      try {
        blocked = await startRotateKey(harness, keys, ['--wait', '2']).exit;
        assert.ok(
          oldCiphertexts.some((ciphertext) => databaseBytes(harness.database.file).includes(ciphertext)),
          'the reader kept the old pages in the files',
        );
      } finally {
        releaseReader();
      }
      assert.equal(blocked.code, 3, blocked.stdout + blocked.stderr);
      assert.equal(blocked.stdout, '', 'no summary that would claim success');
      const lines = blocked.stderr.trim().split('\n');
      assert.equal(lines.length, 2, blocked.stderr);
      assert.match(lines[0]!, /^Waiting up to 2 s for another program reading the database/);
      assert.match(
        lines[1]!,
        new RegExp(
          `^The token sets are re-encrypted under key ${keyIdOf(keys.current)} \\(1 re-encrypted, 0 unreadable.*run \`npm run rotate-key\` again`,
        ),
      );
      assert.doesNotMatch(blocked.stderr, /^\s+at |SqliteError|SQLITE_BUSY/m, 'no stack, no raw driver error');
      assert.match(
        (await harness.database.prisma.tokenSet.findFirstOrThrow()).accessToken,
        new RegExp(`^v1\\.${keyIdOf(keys.current)}\\.`),
      );

      const again = await startRotateKey(harness, keys, []).exit;
      assert.equal(again.code, 0, again.stdout + again.stderr);
      await assertRotatedTo(harness, keys.current, oldCiphertexts);
    });

  // SQLite only: file modes of a SQLite file; PostgreSQL's files are the server's.
  if (testDatabaseKind() === 'sqlite')
    it('S51: when the app opens its database, then the folder is 0700 and the file, -wal and -shm are 0600, existing ones included (a 0755 folder too)', async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-modes-'));
      try {
        const fresh = path.join(root, 'data', 'app.db');
        const database = openDatabase(`file:${fresh}`);
        await database.sql.run(sql`CREATE TABLE probe (value TEXT)`);
        await database.sql.run(sql`INSERT INTO probe VALUES ('x')`);
        assert.equal(fs.statSync(path.dirname(fresh)).mode & 0o777, 0o700);
        for (const file of [fresh, `${fresh}-wal`, `${fresh}-shm`]) assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
        await database.close();

        // A folder and files made by hand (umask 022) or by an older version: opening tightens all of them.
        const folder = path.join(root, 'shared');
        fs.mkdirSync(folder, { mode: 0o755 });
        fs.chmodSync(folder, 0o755);
        const existing = path.join(folder, 'existing.db');
        fs.copyFileSync(fresh, existing);
        fs.writeFileSync(`${existing}-wal`, '');
        for (const file of [existing, `${existing}-wal`]) fs.chmodSync(file, 0o644);
        const reopened = openDatabase(`file:${existing}`);
        assert.equal(fs.statSync(folder).mode & 0o777, 0o700, 'the existing folder');
        for (const file of [existing, `${existing}-wal`]) assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
        await reopened.close();
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

  it('S50: when a stored session row is malformed, then that browser is signed out, one warning is logged, and the server keeps answering', async () => {
    const { browser } = await signIn(harness);
    const logged = harness.logs.length;
    await harness.database.prisma.session.updateMany({ where: { destroyed: false }, data: { data: '{bad' } });
    await assertSignedOut(harness, browser);
    const warnings = harness.logs.slice(logged).filter((line) => line.includes('stored session is malformed'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /"level":"warn"/);
    assert.equal((await harness.browser().request(`${harness.baseUrl}/`)).status, 200);
  });

  it('S50: when the session store cannot be read, then a 503 page (not a 500, not signed out), one error logged, and the server keeps answering', async () => {
    const { browser } = await signIn(harness);
    const logged = harness.logs.length;
    await harness.database.execute('ALTER TABLE "Session" RENAME TO "Session_offline"');
    try {
      const home = await browser.request(`${harness.baseUrl}/`);
      assert.equal(home.status, 503);
      assert.match(home.body, /cannot reach its database/);
    } finally {
      await harness.database.execute('ALTER TABLE "Session_offline" RENAME TO "Session"');
    }
    const errors = harness.logs.slice(logged).filter((line) => line.includes('"level":"error"'));
    assert.equal(errors.length, 1, errors.join(''));
    assert.match(errors[0]!, /"status":503/);
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'signed in again once the store answers');
  });

  it('S50: when a store callback throws, then it is logged and no unhandled rejection stops the process', async () => {
    const { browser } = await signIn(harness);
    const sid = decodeURIComponent(browser.cookie(SESSION_COOKIE)!).slice(2).split('.')[0]!;
    const logs: string[] = [];
    const store = new DatabaseSessionStore(harness.database.handle.sql, {
      cookie: sessionCookieSettings(harness.config),
      logger: createTestLogger(logs),
      now: harness.clock.now,
    });
    try {
      const called = new Promise<void>((resolve) => {
        store.get(sid, () => {
          resolve();
          throw new Error('a callback that throws');
        });
      });
      await called;
      await waitUntil(() => logs.length > 0, 'the throw of the store callback to be logged');
      assert.match(logs[0]!, /session callback failed/);
    } finally {
      store.close();
    }
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
  });

  it("S56: when express-session builds a session from a stored cookie the app never writes, then the cookie is the app's own and touching it in res.end cannot throw", async () => {
    const settings = sessionCookieSettings(harness.config);
    const store = new DatabaseSessionStore(harness.database.handle.sql, {
      cookie: settings,
      logger: createTestLogger(),
      now: harness.clock.now,
    });
    try {
      // What express-session's Store#load hands to createSession: the request's id and store, and the row's data.
      const request = { sessionID: crypto.randomUUID(), sessionStore: store } as unknown as Parameters<typeof store.createSession>[0];
      const stored = {
        cookie: {
          originalMaxAge: '1800000',
          expires: new Date(Date.now() + 365 * 24 * 60 * 60 * 1000).toISOString(),
          httpOnly: false,
          sameSite: 'none',
          path: '/elsewhere',
          domain: 'evil.example',
        },
      };
      const session = store.createSession(request, stored as unknown as Parameters<typeof store.createSession>[1]);
      const { cookie } = session;
      assert.deepEqual(
        {
          originalMaxAge: cookie.originalMaxAge,
          httpOnly: cookie.httpOnly,
          sameSite: cookie.sameSite,
          path: cookie.path,
          domain: cookie.domain,
        },
        { originalMaxAge: settings.maxAge, httpOnly: true, sameSite: 'lax', path: '/', domain: undefined },
      );
      assert.ok(cookie.expires!.getTime() <= Date.now() + settings.maxAge, 'never longer than the idle lifetime');
      // express-session's res.end calls touch(); a throw there is outside every request's error handling.
      assert.doesNotThrow(() => session.touch());
    } finally {
      store.close();
    }
  });

  it('S4: when a callback fails after its state is consumed, then the only write is the consumed session and the browser keeps no session', async () => {
    const browser = harness.browser();
    const state = new URL(await harness.authorize(browser)).searchParams.get('state')!;
    const mark = harness.database.statements.length;
    const declined = await browser.request(`${harness.baseUrl}/connect/get_token?error=access_denied&state=${encodeURIComponent(state)}`);
    assert.equal(declined.status, 403);
    assert.match(declined.body, /You did not sign in/);
    const writes = signInWritesAmong(harness.database.statements.slice(mark));
    assert.equal(writes.length, 1, writes.join(' | '));
    assert.match(writes[0]!, SESSION_TAKEOVER);
    assert.equal(
      declined.headers.getSetCookie().filter((line) => line.startsWith(`${SESSION_COOKIE}=`)).length,
      0,
      'no new session cookie',
    );
    assert.equal(await harness.database.prisma.session.count({ where: { destroyed: false } }), 0);
  });

  it('when a person signs in and views the page, then /connect writes once, the callback three times (4 statements), and page views write nothing until the idle expiry must move', async () => {
    const statements = harness.database.statements;
    const writesSince = (mark: number) => signInWritesAmong(statements.slice(mark));
    const browser = harness.browser();
    let mark = statements.length;
    const callbackUrl = await harness.authorize(browser);
    assert.equal(writesSince(mark).length, 1, '/connect: the session with its pending sign-in');

    mark = statements.length;
    assert.equal((await browser.request(callbackUrl)).status, 303);
    const callbackWrites = writesSince(mark);
    assert.equal(callbackWrites.length, 4, `callback: ${callbackWrites.join(' | ')}`);
    assert.ok(callbackWrites[0]!.match(SESSION_TAKEOVER), 'the state is consumed first');

    const stored = await harness.database.prisma.session.findFirstOrThrow({ where: { destroyed: false } });
    for (let view = 0; view < 3; view += 1) {
      mark = statements.length;
      assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
      assert.deepEqual(writesSince(mark), [], 'a page view that need not move the expiry writes nothing');
    }
    assert.deepEqual(await harness.database.prisma.session.findFirstOrThrow({ where: { destroyed: false } }), stored);

    harness.clock.advance(61_000);
    mark = statements.length;
    assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/);
    assert.equal(writesSince(mark).length, 1, 'a minute later the page view moves the expiry once');
    const moved = await harness.database.prisma.session.findFirstOrThrow({ where: { destroyed: false } });
    assert.ok(moved.expiresAt.getTime() > stored.expiresAt.getTime());
  });
});

describe('S56: stored session rows against one schema', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  for (const row of WRONG_SESSION_ROWS)
    it(`S56: when a stored session's ${row.condition}, then /, Refresh now, Check with Microsoft Graph, the callback and Sign out answer as to a signed-out browser, each with one warning naming ${row.field}, and the browser can sign in again`, async () => {
      const { browser } = await signIn(harness);
      const csrf = await csrfOf(browser, harness.baseUrl);
      const signingIn = harness.browser();
      const callbackUrl = await harness.authorize(signingIn);
      const state = new URL(callbackUrl).searchParams.get('state')!;
      await alterStoredSession(harness, browser, row.alter);
      await alterStoredSession(harness, signingIn, row.alter);
      const logged = harness.logs.length;

      await assertSignedOut(harness, browser);
      for (const form of ['/refresh', '/graph-check', '/logout']) {
        const page = await browser.request(`${harness.baseUrl}${form}`, { form: { _csrf: csrf } });
        assert.equal(page.status, 403, `${form}: ${page.body.slice(0, 200)}`);
        assert.match(page.body, /This form has expired/);
      }
      assertRejectPage(await signingIn.request(callbackUrl));

      const lines = harness.logs.slice(logged);
      const warnings = lines.filter((line) => line.includes('stored session is malformed'));
      assert.equal(warnings.length, 5, `one warning for each of the 5 requests: ${warnings.join('')}`);
      for (const warning of warnings) {
        const entry = JSON.parse(warning) as { level: string; field: string; problem: string };
        assert.equal(entry.level, 'warn');
        assert.equal(entry.field, row.field);
        assert.match(entry.problem, /^invalid_(type|format)$/);
        for (const secret of [csrf, state, sessionIdOf(browser), sessionIdOf(signingIn)])
          assert.ok(!warning.includes(secret), 'no value in it');
      }
      assert.deepEqual(
        lines.filter((line) => line.includes('"level":"error"')),
        [],
        'no 500 or 503',
      );

      assert.equal((await harness.browser().request(`${harness.baseUrl}/healthz`)).status, 200);
      assert.equal((await browser.request(await harness.authorize(browser))).status, 303);
      assert.match((await browser.request(`${harness.baseUrl}/`)).body, /Signed in as/, 'the same browser signs in again');
    });
});
