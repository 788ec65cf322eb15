import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { StartedIdp } from '../../dev/idp/index.ts';
import { EXIT } from '../../src/cli/token-command.ts';
import { HTTP_LIMITS } from '../../src/web/request-limits.ts';
import { createTestDatabase } from '../support/database.ts';
import type { TestDatabase } from '../support/database.ts';
import { readForm, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import { HttpBrowser } from '../support/http-browser.ts';
import { rawGet } from '../support/raw-http.ts';
import { COMMAND_TIME_LIMIT_MS, PROCESS_STOP_LIMIT_MS } from '../support/bounded-waits.ts';
import { freePort } from '../../dev/free-port.ts';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
const TOKEN_SCRIPT = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
const SECURITY_DOC = fileURLToPath(new URL('../../docs/SECURITY.md', import.meta.url));

interface RunningProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** `npm start`'s entry (src/server.ts) in an empty folder, until it listens; killed when it does not within the limit. */
async function startServerProcess(env: Record<string, string>): Promise<RunningProcess> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-harden-'));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, SERVER], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    const killer = setTimeout(() => child.kill('SIGKILL'), PROCESS_STOP_LIMIT_MS);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(killer);
    fs.rmSync(cwd, { recursive: true, force: true });
  };
  const notListening = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIME_LIMIT_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/Redirect URI sent to Microsoft/.test(stdout)) resolve();
      });
      child.on('error', reject);
      child.once('close', (code, signal) => reject(new Error(`the server exited (${code ?? signal}) before listening: ${stderr}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(notListening);
  }
  return { child, baseUrl: env.BASE_URL!, stderr: () => stderr, stop };
}

/** The settings of a server on `port` whose provider is unreachable: it starts (sign-ins would fail) and serves pages. */
function standaloneEnv(port: number, databaseFile: string): Record<string, string> {
  return {
    O365_APP_ID: TEST_APP_ID,
    O365_APP_KEY: TEST_APP_KEY,
    O365_AUTHORITY_HOST: 'http://127.0.0.1:9',
    O365_HTTP_TIMEOUT_MS: '1000',
    BASE_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    DATABASE_URL: `file:${databaseFile}`,
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  };
}

/** The local provider, a fresh database and `npm start`'s entry signing in against them on a free port. */
async function startSignInProcess(): Promise<{
  idp: StartedIdp;
  database: TestDatabase;
  server: RunningProcess;
  baseUrl: string;
  port: number;
}> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const idp = await startIdentityProvider({
    port: 0,
    clients: [
      {
        clientId: TEST_APP_ID,
        clientSecret: TEST_APP_KEY,
        redirectUris: [`${baseUrl}/connect/get_token`],
        postLogoutRedirectUris: [`${baseUrl}/`],
      },
    ],
  });
  const database = await createTestDatabase();
  try {
    const server = await startServerProcess({
      O365_APP_ID: TEST_APP_ID,
      O365_APP_KEY: TEST_APP_KEY,
      O365_AUTHORITY_HOST: idp.origin,
      GRAPH_BASE_URL: idp.graphBaseUrl,
      BASE_URL: baseUrl,
      PORT: String(port),
      DATABASE_URL: database.url,
      SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
      TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    });
    return { idp, database, server, baseUrl, port };
  } catch (error) {
    // The server did not start: what was opened for it goes too, so the failing test leaves nothing behind.
    await database.remove();
    await idp.close();
    throw error;
  }
}

/** Every stderr line is one JSON object from the logger: no raw stack, no multi-line error print. */
function assertOnlyLoggerLines(stderr: string): void {
  for (const line of stderr.split('\n').filter((text) => text.trim() !== '')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      assert.fail(`a line outside the logger on stderr: ${line.slice(0, 300)}\n--- all stderr ---\n${stderr.slice(0, 3000)}`);
    }
    assert.equal(typeof (parsed as { level?: unknown }).level, 'string', line);
  }
}

/** The app's signed-in browser after /connect and the provider's form; returns the callback URL, not yet visited. */
async function authorize(browser: HttpBrowser, baseUrl: string, idp: StartedIdp): Promise<string> {
  const isCallback = (url: string) => url.startsWith(`${baseUrl}/connect/get_token`);
  const loginPage = await browser.follow(`${baseUrl}/connect`, { stopAt: isCallback });
  const form = readForm(loginPage);
  const account = idp.accounts[0]!;
  const result = await browser.follow(form.action, {
    stopAt: isCallback,
    form: { ...form.hidden, [form.usernameField]: account.username, [form.passwordField]: account.password },
  });
  assert.ok(result.location !== undefined && isCallback(result.location), `back to the app: ${result.status}`);
  return result.location;
}

/**
 * Connects, sends `head` and then nothing: what the server answered, and how long after connecting its first byte
 * came. The client gives up after `giveUpMs` (an empty answer then).
 */
function sendAndWait(port: number, head: string, giveUpMs: number): Promise<{ answer: string; answeredAfterMs: number }> {
  return new Promise((resolve) => {
    let answer = '';
    let answeredAfterMs = Number.NaN;
    let connectedAt = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => {
      connectedAt = Date.now();
      socket.write(head);
    });
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (chunk) => {
      if (answer === '') answeredAfterMs = Date.now() - connectedAt;
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ answer, answeredAfterMs });
    });
  });
}

/** Resident memory of a process, in bytes (Linux). */
function residentBytes(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) * 1024;
}

/** Resident memory once it stops moving (the server may still be reading what the kernel buffered), at most 40 looks. */
async function settledResidentBytes(pid: number): Promise<number> {
  let previous = residentBytes(pid);
  let highest = previous;
  for (let look = 0; look < 40; look += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const current = residentBytes(pid);
    highest = Math.max(highest, current);
    if (Math.abs(current - previous) < 512 * 1024) break;
    previous = current;
  }
  return highest;
}

describe('N. hardening: a real server process', () => {
  let idp: StartedIdp;
  let folder: string;
  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-harden-db-'));
  });
  after(async () => {
    await idp?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it("S50: when saves fail after the response, a client sends X-Forwarded-For, or the target is *, then stderr holds only the logger's JSON lines and the server keeps answering", async (t) => {
    const started = await startSignInProcess();
    const { database, server, baseUrl, port } = started;
    idp = started.idp;
    t.after(() => database.remove());
    try {
      const forwarded = await rawGet(`${baseUrl}/connect`, { 'X-Forwarded-For': '203.0.113.7', Forwarded: 'for=203.0.113.7' });
      assert.equal(forwarded.status, 302);

      const declined = new HttpBrowser();
      const callbackUrl = await authorize(declined, baseUrl, idp);
      let restore = await database.failSessionWrites();
      try {
        assert.equal((await declined.request(callbackUrl)).status, 503);
      } finally {
        await restore();
      }

      const browser = new HttpBrowser();
      assert.equal((await browser.request(await authorize(browser, baseUrl, idp))).status, 303);
      const csrf = (await browser.request(`${baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
      restore = await database.failSessionWrites();
      try {
        const refreshed = await browser.request(`${baseUrl}/refresh`, { form: { _csrf: csrf } });
        assert.equal(refreshed.status, 503, 'the failed save is on the page, not lost behind a redirect');
      } finally {
        await restore();
      }

      const star = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.end('OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
        );
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString('latin1');
        });
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
      assert.match(star, /^HTTP\/1\.1 400 /);
      assert.equal((await browser.request(`${baseUrl}/`)).status, 200, 'still answering');
    } finally {
      await server.stop();
    }
    assertOnlyLoggerLines(server.stderr());
    const entries = server
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; message: string });
    assert.ok(!entries.some((entry) => entry.level === 'error' && entry.message === 'Something went wrong'), 'no 500 page');
    assert.ok(
      entries.some((entry) => entry.message === 'request completed'),
      'the requests are logged on the same stderr',
    );
  });

  it("S56: when a stored session's cookie.originalMaxAge is a string, then the npm start process answers that browser as signed out with one warning, keeps serving, and stderr holds only the logger's JSON lines", async () => {
    const { idp: provider, database, server, baseUrl } = await startSignInProcess();
    try {
      const browser = new HttpBrowser();
      assert.equal((await browser.request(await authorize(browser, baseUrl, provider))).status, 303);
      const csrf = (await browser.request(`${baseUrl}/`)).body.match(/name="_csrf" value="([^"]+)"/)![1]!;
      // Before issue 15, express-session's touch() threw on this inside res.end, and the process exited.
      const row = await database.prisma.session.findFirstOrThrow({ where: { destroyed: false } });
      const data = JSON.parse(row.data) as { cookie: Record<string, unknown> };
      data.cookie.originalMaxAge = '1800000';
      await database.prisma.session.update({ where: { id: row.id }, data: { data: JSON.stringify(data) } });

      const home = await browser.request(`${baseUrl}/`);
      assert.equal(home.status, 200);
      assert.match(home.body, /Sign in with Office 365/);
      assert.equal((await browser.request(`${baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 403);
      assert.equal((await browser.request(`${baseUrl}/logout`, { form: { _csrf: csrf } })).status, 403);
      assert.equal(server.child.exitCode, null, 'the process is still running');
      assert.equal((await rawGet(`${baseUrl}/healthz`)).status, 200);
      const other = new HttpBrowser();
      assert.equal((await other.request(await authorize(other, baseUrl, provider))).status, 303);
      assert.match((await other.request(`${baseUrl}/`)).body, /Signed in as/, 'still serving sign-ins');
    } finally {
      await server.stop();
      await database.remove();
      await provider.close();
    }
    assertOnlyLoggerLines(server.stderr());
    const entries = server
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; message: string; field?: string });
    const warnings = entries.filter((entry) => entry.message === 'stored session is malformed; treated as signed out');
    assert.equal(warnings.length, 3, 'one warning for each request of that browser');
    for (const warning of warnings) assert.deepEqual([warning.level, warning.field], ['warn', 'cookie.originalMaxAge']);
    assert.ok(!entries.some((entry) => entry.level === 'error'), 'no error: no 500, no 503');
  });

  it('S53: when 300 slow clients each send 250 KB of headers, then the server refuses them at the header limit and its memory stays bounded', async (t) => {
    const port = await freePort();
    const server = await startServerProcess(standaloneEnv(port, path.join(folder, 'memory.db')));
    const sockets: net.Socket[] = [];
    try {
      const pid = server.child.pid!;
      // Warm up the paths a refused request takes, so the baseline includes their code and caches.
      for (let i = 0; i < 20; i += 1) await rawGet(`${server.baseUrl}/healthz`);
      for (let i = 0; i < 5; i += 1)
        await rawGet(`${server.baseUrl}/`, { 'X-Padding': 'a'.repeat(HTTP_LIMITS.maxHeaderBytes) }).catch(() => undefined);
      const before = await settledResidentBytes(pid);
      const chunk = `X-Padding: ${'a'.repeat(16 * 1024 - 14)}\r\n`;
      const answers: Promise<string>[] = [];
      await Promise.all(
        Array.from(
          { length: 300 },
          (_, index) =>
            new Promise<void>((resolve) => {
              // Four client addresses (75 each): one address may hold at most HTTP_LIMITS.maxConnectionsPerAddress.
              const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (index % 4)}` });
              sockets.push(socket);
              let answer = '';
              socket.on('data', (data) => {
                answer += data.toString('latin1');
              });
              socket.on('error', () => resolve());
              answers.push(
                new Promise((closed) =>
                  socket.once('close', () => {
                    closed(answer.split('\r\n')[0] ?? '');
                    resolve();
                  }),
                ),
              );
              socket.on('connect', async () => {
                socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
                // 250 KB of headers, never finished: a slow client holding its connection open.
                for (let sent = 0; sent < 250 * 1024 && !socket.destroyed; sent += chunk.length) {
                  if (!socket.write(chunk))
                    await new Promise((drained) => {
                      socket.once('drain', drained);
                      socket.once('close', drained);
                    });
                }
                resolve();
              });
            }),
        ),
      );
      const during = await settledResidentBytes(pid);
      const grownMb = (during - before) / 1024 / 1024;
      assert.ok(
        grownMb < 50,
        `memory grew by ${grownMb.toFixed(1)} MB for 300 slow clients (limit ${HTTP_LIMITS.maxHeaderBytes / 1024} KB of headers each)`,
      );
      t.diagnostic(
        `S53 measurement: resident memory ${(before / 1024 / 1024).toFixed(1)} MB before, ${(during / 1024 / 1024).toFixed(1)} MB with 300 slow clients`,
      );
      // The server closes each refused connection itself (after a short linger), so every socket closes.
      const refused = await Promise.all(answers);
      assert.ok(
        refused.every((line) => /^HTTP\/1\.1 431 /.test(line)),
        `refused at the header limit: ${[...new Set(refused)].join(' | ')}`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
    }
    assertOnlyLoggerLines(server.stderr());
  });

  it("S53: when a client sends its headers or its body too slowly, then npm start's server cuts it off with the 408 page at the header and request timeouts of docs/SECURITY.md, long before Node's defaults", async (t) => {
    const documented = /(\d+) s to send the headers and (\d+) s for the whole request/.exec(fs.readFileSync(SECURITY_DOC, 'utf8'));
    assert.ok(documented, 'docs/SECURITY.md names the header and request timeouts');
    const [headersTimeoutMs, requestTimeoutMs] = [Number(documented[1]) * 1000, Number(documented[2]) * 1000];
    // Node's own defaults (headersTimeout 60 s, requestTimeout 300 s), which the documented limits replace.
    assert.ok(headersTimeoutMs < 60_000 && requestTimeoutMs < 300_000);
    const port = await freePort();
    const server = await startServerProcess(standaloneEnv(port, path.join(folder, 'timeouts.db')));
    try {
      const [slowHeaders, slowBody] = await Promise.all([
        // Headers that never end: the request line and one header, then silence.
        sendAndWait(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', headersTimeoutMs + 20_000),
        // Complete headers and a form body that stops after 6 of its 100 bytes (the app is reading it).
        sendAndWait(
          port,
          'POST /refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n_csrf=',
          requestTimeoutMs + 20_000,
        ),
      ]);
      for (const [what, result, timeoutMs] of [
        ['slow headers', slowHeaders, headersTimeoutMs],
        ['slow body', slowBody, requestTimeoutMs],
      ] as const) {
        assert.match(
          result.answer,
          /^HTTP\/1\.1 408 /,
          `${what}: ${result.answer.slice(0, 100) || 'no answer'} after ${result.answeredAfterMs} ms`,
        );
        assert.match(result.answer, /The request took too long/);
        // Node checks its timers once a second; the bounds only tell the documented limit from Node's defaults.
        assert.ok(
          result.answeredAfterMs >= timeoutMs - 500 && result.answeredAfterMs <= timeoutMs + 15_000,
          `${what}: cut off after ${result.answeredAfterMs} ms, the documented limit is ${timeoutMs} ms`,
        );
      }
      t.diagnostic(
        `S53 timeouts: slow headers cut off after ${slowHeaders.answeredAfterMs} ms, a slow body after ${slowBody.answeredAfterMs} ms`,
      );
      assert.equal((await rawGet(`${server.baseUrl}/healthz`)).status, 200, 'still answering');
    } finally {
      await server.stop();
    }
    assertOnlyLoggerLines(server.stderr());
  });

  it('when npm run -s token -- --demo runs from another folder, then it creates no data/ folder there', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-elsewhere-'));
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', TSX_LOADER, TOKEN_SCRIPT, '--demo'], {
          cwd: elsewhere,
          env: { PATH: process.env.PATH, DEMO_DATABASE_URL: `file:${path.join(folder, 'no-demo-here', 'demo.db')}` },
          stdio: ['ignore', 'ignore', 'ignore'],
          timeout: COMMAND_TIME_LIMIT_MS,
          killSignal: 'SIGKILL',
        });
        child.on('error', reject);
        child.on('close', resolve);
      });
      assert.equal(code, EXIT.databaseMissing);
      assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing written where the command ran');
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
