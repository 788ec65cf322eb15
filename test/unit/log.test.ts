import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLogFormat, createLogger, createProcessLogger, redact } from '../../src/log.ts';
import type { Logger } from '../../src/log.ts';

describe('log lines', () => {
  it('when NODE_ENV is production, then JSON lines, terminal or not; otherwise pretty lines only for a terminal', () => {
    assert.equal(chooseLogFormat({ production: true, terminal: true }), 'json');
    assert.equal(chooseLogFormat({ production: true, terminal: false }), 'json');
    assert.equal(chooseLogFormat({ production: false, terminal: true }), 'pretty');
    assert.equal(chooseLogFormat({ production: false, terminal: false }), 'json', 'a pipe or a file gets lines a machine can read');
  });

  it('when an event is logged, then one JSON line with the level by name, an ISO time, the message and the fields', () => {
    const lines: string[] = [];
    createLogger((line) => lines.push(line)).info('signed in', { userId: 'user-1' });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('}\n'));
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual({ ...entry, time: undefined }, { level: 'info', time: undefined, message: 'signed in', userId: 'user-1' });
    assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('when fields hold a secret-looking key at any depth, then only its value is redacted; fields without one are not copied', () => {
    const fields = {
      status: 400,
      error: 'invalid_grant',
      attempts: [{ url: '/token', body: { client_assertion: 'a.b.c', grant_type: 'refresh_token' } }],
      user: { id: 'user-1', profile: { idToken: 'eyJ.secret' } },
    };
    assert.deepEqual(redact(fields), {
      status: 400,
      error: 'invalid_grant',
      attempts: [{ url: '/token', body: { client_assertion: '[redacted]', grant_type: 'refresh_token' } }],
      user: { id: 'user-1', profile: { idToken: '[redacted]' } },
    });
    assert.equal(fields.user.profile.idToken, 'eyJ.secret', "the caller's object is left as it was");
    const access = { requestId: 'r-1', method: 'GET', route: '/', status: 200, durationMs: 0.4, nested: [{ a: 1 }] };
    assert.equal(redact(access), access);
  });

  it('when a child logger is made for a request, then its lines carry the request id and its fields are still redacted', () => {
    const lines: string[] = [];
    const child: Logger = createLogger((line) => lines.push(line)).child({ requestId: 'abc-123' });
    child.warn('refresh failed', { reason: 'timeout', refresh_token: 'must-not-appear' });
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(
      [entry.requestId, entry.refresh_token, entry.message, entry.reason, entry.level],
      ['abc-123', '[redacted]', 'refresh failed', 'timeout', 'warn'],
    );
  });

  it('when the process logger is for a terminal outside production, then lines are pretty (not JSON) and still redacted', async () => {
    const lines: string[] = [];
    const logger = await createProcessLogger({ production: false, terminal: true, write: (line) => lines.push(line) });
    logger.warn('refresh failed', { userId: 'user-1', refresh_token: 'must-not-appear' });
    assert.equal(lines.length, 1);
    assert.throws(() => JSON.parse(lines[0]!));
    assert.match(lines[0]!, /WARN.*refresh failed/);
    assert.match(lines[0]!, /"userId":"user-1"/);
    assert.equal(lines[0]!.trimEnd().split('\n').length, 1, 'one line per event');
    assert.doesNotMatch(lines[0]!, /must-not-appear/);
  });

  it('when the process logger is for production, then JSON lines even on a terminal', async () => {
    const lines: string[] = [];
    const logger = await createProcessLogger({ production: true, terminal: true, write: (line) => lines.push(line) });
    logger.info('listening', { url: 'http://127.0.0.1:5000' });
    assert.deepEqual(JSON.parse(lines[0]!), {
      ...JSON.parse(lines[0]!),
      level: 'info',
      message: 'listening',
      url: 'http://127.0.0.1:5000',
    });
  });
});
