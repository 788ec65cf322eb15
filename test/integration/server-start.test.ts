import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { runServer } from '../support/server-process.ts';

// Lists every module the server loads (ES and CommonJS) in the file named by MODULE_TRACE_FILE, at exit.
const MODULE_TRACE = ['--import', fileURLToPath(new URL('../support/module-trace.mjs', import.meta.url))];

/** Settings for a server against the local provider, with a new database file in `folder`. */
function goodSettings(idp: StartedIdp, folder: string): Record<string, string> {
  return {
    O365_APP_ID: '6731de76-14a6-49ae-97bc-6eba6914391e',
    O365_APP_KEY: 'start-test-secret',
    O365_AUTHORITY_HOST: idp.origin,
    BASE_URL: 'http://127.0.0.1:5999',
    PORT: '0',
    DATABASE_URL: `file:${path.join(folder, 'nested', 'app.db')}`,
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  };
}

describe('npm start', () => {
  let idp: StartedIdp;
  before(async () => {
    idp = await startIdentityProvider({
      port: 0,
      clients: [
        {
          clientId: '6731de76-14a6-49ae-97bc-6eba6914391e',
          clientSecret: 'start-test-secret',
          redirectUris: ['http://127.0.0.1:5999/connect/get_token'],
        },
      ],
    });
  });
  after(async () => {
    await idp.close();
  });

  it('when settings are missing or malformed, then it exits non-zero with one line per problem and its fix', async () => {
    const run = await runServer({ NODE_ENV: 'production', O365_APP_ID: 'my-app', BASE_URL: 'http://signin.example.com' });
    assert.equal(run.code, 1);
    const lines = run.stderr.split('\n').filter((line) => line.startsWith('  - '));
    assert.deepEqual(
      lines.map((line) => line.slice(4).split(' ')[0]),
      ['O365_APP_ID', 'O365_APP_KEY', 'BASE_URL', 'SESSION_SECRET', 'TOKEN_ENCRYPTION_KEY'],
    );
    assert.match(run.stderr, /use the Application \(client\) ID from Microsoft Entra admin center/);
  });

  it('when settings are good and the database does not exist yet, then it migrates, logs the redirect URI, serves the pages from the compiled app, and stops cleanly on SIGTERM', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-start-db-'));
    const file = path.join(folder, 'nested', 'app.db');
    try {
      const run = await runServer(goodSettings(idp, folder), /Redirect URI sent to Microsoft/, async (url) => {
        const home = await fetch(`${url}/`);
        assert.equal(home.status, 200);
        assert.match(await home.text(), /Sign in with Office 365/);
        const stylesheet = await fetch(`${url}/styles.css`);
        assert.equal(stylesheet.status, 200);
        assert.equal(await stylesheet.text(), fs.readFileSync(new URL('../../public/styles.css', import.meta.url), 'utf8'));
      });
      assert.equal(run.code, 0, `exit ${run.code}: ${run.stdout}\n${run.stderr}`);
      assert.match(
        run.stdout,
        /Redirect URI sent to Microsoft \(register exactly this one\): http:\/\/127\.0\.0\.1:5999\/connect\/get_token/,
      );
      assert.match(run.stderr, /"redirectUri":"http:\/\/127\.0\.0\.1:5999\/connect\/get_token"/);
      const database = new Database(file, { readonly: true });
      const tables = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      database.close();
      assert.deepEqual(
        ['Session', 'TokenSet', 'User'].filter((name) => tables.some((table) => table.name === name)),
        ['Session', 'TokenSet', 'User'],
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it("when it is ready on SQLite, then neither Prisma's client nor the libraries that only a sign-in needs (jose, simple-oauth2) are loaded", async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-start-db-'));
    try {
      const traceFile = path.join(folder, 'modules.txt');
      const settings = { ...goodSettings(idp, folder), MODULE_TRACE_FILE: traceFile };
      const run = await runServer(settings, /Redirect URI sent to Microsoft/, async () => {}, MODULE_TRACE);
      assert.equal(run.code, 0, `exit ${run.code}: ${run.stdout}\n${run.stderr}`);
      const loaded = fs.readFileSync(traceFile, 'utf8').split('\n');
      // Express and the rest are bundled into dist/server.js (scripts/bundle-server.mjs); jose, simple-oauth2, Prisma's
      // client, pg and pino-pretty stay packages of their own, so an eager import of one shows here by its path.
      assert.ok(
        loaded.some((url) => url.endsWith('/dist/server.js')) && loaded.some((url) => url.includes('/node_modules/better-sqlite3/')),
        'the trace lists the modules the server loads',
      );
      assert.deepEqual(
        loaded.filter((url) => /\/node_modules\/(jose|simple-oauth2)\//.test(url)),
        [],
      );
      // Every store goes through the SQLite adapter directly (db/sqlite-store.ts): no client, no PostgreSQL driver.
      assert.deepEqual(
        loaded.filter((url) => /\/node_modules\/(@prisma\/client|pg)\/|\/generated\/prisma/.test(url)),
        [],
      );
      assert.deepEqual(
        loaded.filter((url) => /\/node_modules\/pino-pretty\//.test(url)),
        [],
        'stderr is no terminal: JSON lines, no pino-pretty',
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
