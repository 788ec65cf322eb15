import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/token-command.ts';
import type { Harness } from '../support/harness.ts';
import { useHarness } from '../support/outcomes.ts';
import { runCompiledTokenCommand } from '../support/token-script.ts';

// Issue 16: a cached token loads the settings, the SQLite store and the decryption, nothing that only a refresh, the web
// app or a PostgreSQL database needs. Guarded by what loads, not by a time.
const NEVER_LOADED = {
  "Prisma's client runtime": /\/node_modules\/@prisma\/client\/runtime\//,
  "the app's generated Prisma clients": /\/generated\/prisma(-pg)?\//,
  'simple-oauth2': /\/node_modules\/simple-oauth2\//,
  jose: /\/node_modules\/jose\//,
  'oidc-provider': /\/node_modules\/oidc-provider\//,
  'typescript or tsx': /\/node_modules\/(typescript|tsx|esbuild)\//,
  pino: /\/node_modules\/pino(-pretty)?\//,
  'node-postgres': /\/node_modules\/pg\//,
  "Node's HTTP clients (fetch-json.ts loads one for a request)": /^node:https?$/,
} as const;
/** On PostgreSQL the store is Prisma's client on node-postgres (db/postgres-database.ts): those load, the rest must not. */
const LOADED_FOR_POSTGRES = new Set(["Prisma's client runtime", "the app's generated Prisma clients", 'node-postgres']);
const REFRESH_LOADS = { 'simple-oauth2': NEVER_LOADED['simple-oauth2'], jose: NEVER_LOADED.jose };

async function signIn(harness: Harness): Promise<void> {
  const browser = harness.browser();
  assert.equal((await browser.request(await harness.authorize(browser, harness.idp.accounts[0]!))).status, 303);
}

function loadedAmong(modules: readonly string[], patterns: Record<string, RegExp>): string[] {
  return Object.entries(patterns)
    .filter(([, pattern]) => modules.some((url) => pattern.test(url)))
    .map(([name]) => name);
}

/** Fails when the trace missed the command itself: a hook that never ran would list nothing and prove nothing. */
function assertTraced(modules: readonly string[]): void {
  assert.ok(
    modules.some((url) => url.endsWith('/dist/cli/token-command.js')),
    'the module trace lists the compiled command',
  );
  assert.ok(
    modules.some((url) => url.includes('/node_modules/better-sqlite3/') || url.includes('/node_modules/pg/')),
    "the module trace lists the database driver, loaded through require's cache",
  );
}

describe('npm run token, what it loads', () => {
  let harness: Harness;
  useHarness((started) => {
    harness = started;
  });

  it('when the stored token is cached, then it prints it without loading Prisma, refresh, provider, TypeScript or logging modules', async () => {
    await signIn(harness);
    const count = harness.idp.tokenRequestCount();
    const result = await runCompiledTokenCommand(harness, []);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(result.stdout, /^[A-Za-z0-9._~+/-]+=*\n$/);
    assert.equal(harness.idp.tokenRequestCount(), count, 'no token request');
    assertTraced(result.modules);
    const postgres = !harness.database.url.startsWith('file:');
    const unexpected = loadedAmong(result.modules, NEVER_LOADED).filter((name) => !(postgres && LOADED_FOR_POSTGRES.has(name)));
    assert.deepEqual(unexpected, []);
  });

  it('when the stored token expires within five minutes, then the refresh loads simple-oauth2 and jose on demand and prints the new token', async () => {
    await signIn(harness);
    await harness.database.prisma.tokenSet.updateMany({ data: { expiresAt: new Date(Date.now() + 60_000) } });
    const count = harness.idp.tokenRequestCount();
    const result = await runCompiledTokenCommand(harness, []);
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.equal(harness.idp.tokenRequestCount(), count + 1);
    assert.equal(result.stdout.trim(), harness.idp.issuedAccessTokens.at(-1));
    assertTraced(result.modules);
    assert.deepEqual(loadedAmong(result.modules, REFRESH_LOADS), Object.keys(REFRESH_LOADS));
  });
});
