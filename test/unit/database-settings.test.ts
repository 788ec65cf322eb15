import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { checkDatabaseUrl, ensurePrivateFolder, poolSizeOf, redactDatabaseUrl } from '../../src/db/database-url.ts';
import { derivePostgresSchema, POSTGRES_MIGRATED_SCHEMA, POSTGRES_SCHEMA, SQLITE_SCHEMA } from '../../scripts/postgresql-schema.ts';

const required = { O365_APP_ID: '6731de76-14a6-49ae-97bc-6eba6914391e', O365_APP_KEY: 'a-secret-value' };

describe('one data model for SQLite and PostgreSQL', () => {
  const derived = derivePostgresSchema(fs.readFileSync(SQLITE_SCHEMA, 'utf8'));

  it('when prisma/schema.prisma changes, then prisma/postgresql/schema.prisma is regenerated from it (npm run db:generate)', () => {
    assert.equal(fs.readFileSync(POSTGRES_SCHEMA, 'utf8'), derived, 'run `npm run db:generate` and commit prisma/postgresql/schema.prisma');
  });

  it('when prisma/schema.prisma changes, then a PostgreSQL migration exists for it (npm run db:pg-migration -- <name>)', () => {
    assert.equal(
      fs.readFileSync(POSTGRES_MIGRATED_SCHEMA, 'utf8'),
      derived,
      'prisma/schema.prisma has changes without a PostgreSQL migration: run `npm run db:pg-migration -- <name>` and commit prisma/postgresql',
    );
  });

  it('when the PostgreSQL schema is derived, then only the provider and the client folder differ', () => {
    const sqlite = fs.readFileSync(SQLITE_SCHEMA, 'utf8').split('\n');
    const postgres = derived.split('\n').slice(1);
    const changed = sqlite.filter((line, index) => line !== postgres[index]);
    assert.deepEqual(
      changed.map((line) => line.trim().split(/\s+/)[0]),
      ['output', 'provider'],
    );
  });
});

describe('DATABASE_URL and MIGRATE_ON_START', () => {
  it('when DATABASE_URL is file:, postgresql:// or postgres://, then it is accepted; another scheme is refused with the forms that work', () => {
    for (const url of [
      'file:./data/app.db',
      'postgresql://app:pw@db.example.com:5432/o365?sslmode=require',
      'postgres://app@localhost/o365',
    ]) {
      assert.equal(checkDatabaseUrl(url), undefined, url);
      assert.ok(parseConfig({ ...required, DATABASE_URL: url }).ok, url);
    }
    const result = parseConfig({ ...required, DATABASE_URL: 'mysql://root:hunter2@db/o365' });
    assert.ok(!result.ok);
    assert.match(
      result.problems.join('\n'),
      /DATABASE_URL "mysql:\/\/root:\*\*\*@db\/o365" is not supported: use a SQLite file .* or postgresql:\/\//,
    );
    assert.doesNotMatch(result.problems.join('\n'), /hunter2/);
  });

  it('when the PostgreSQL URL sets connection_limit, then that is the pool size (default 10); a bad value is refused', () => {
    assert.equal(poolSizeOf('postgresql://db/o365'), 10);
    assert.equal(poolSizeOf('postgresql://db/o365?connection_limit=25&sslmode=require'), 25);
    assert.match(
      checkDatabaseUrl('postgresql://db/o365?connection_limit=0') ?? '',
      /connection_limit=0: use a pool size between 1 and 1000/,
    );
    assert.equal(redactDatabaseUrl('postgresql://app:s3cret@db/o365'), 'postgresql://app:***@db/o365');
  });

  it('when MIGRATE_ON_START is unset, true or false, then migrations run at start, run, or wait for npm run migrate; another value is refused', () => {
    const parse = (value?: string) => parseConfig({ ...required, ...(value === undefined ? {} : { MIGRATE_ON_START: value }) });
    const flag = (value?: string) => {
      const result = parse(value);
      assert.ok(result.ok);
      return result.config.migrateOnStart;
    };
    assert.equal(flag(), true);
    assert.equal(flag('true'), true);
    assert.equal(flag('false'), false);
    const bad = parse('later');
    assert.ok(!bad.ok);
    assert.match(bad.problems.join('\n'), /MIGRATE_ON_START "later" is not valid/);
  });
});

describe('the database folder', () => {
  it('when the folder is missing or exists with 0755, then it ends 0700 without a warning', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-folder-'));
    try {
      const warnings: string[] = [];
      const created = path.join(root, 'new', 'data');
      ensurePrivateFolder(created, (message) => warnings.push(message));
      assert.equal(fs.statSync(created).mode & 0o777, 0o700);
      const existing = path.join(root, 'existing');
      fs.mkdirSync(existing);
      fs.chmodSync(existing, 0o755);
      ensurePrivateFolder(existing, (message) => warnings.push(message));
      assert.equal(fs.statSync(existing).mode & 0o777, 0o700);
      assert.deepEqual(warnings, []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('when the folder cannot be made 0700 (here /proc/self, which even root may not chmod), then one warning line, once per folder', () => {
    const warnings: string[] = [];
    ensurePrivateFolder('/proc/self', (message) => warnings.push(message));
    ensurePrivateFolder('/proc/self', (message) => warnings.push(message));
    assert.equal(warnings.length, 1);
    assert.doesNotMatch(warnings[0]!, /\n/);
    assert.match(warnings[0]!, /^the database folder \/proc\/self could not be made private \(chmod 700 failed: EPERM\).*DATABASE_URL/);
  });
});
