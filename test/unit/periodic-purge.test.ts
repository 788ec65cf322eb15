import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { PURGE_INTERVAL_MS, startPeriodicPurge } from '../../src/db/periodic-purge.ts';
import { createLogger } from '../../src/log.ts';

describe('startPeriodicPurge (the background delete of expired sessions and rate-limit counters)', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  it('when the interval passes, then the purge runs once per interval, and never after it is stopped', () => {
    let runs = 0;
    const stop = startPeriodicPurge(
      async () => {
        runs += 1;
      },
      { logger: createLogger(() => {}), failureMessage: 'purge failed' },
    );
    assert.equal(runs, 0, 'not at start');
    mock.timers.tick(PURGE_INTERVAL_MS);
    mock.timers.tick(PURGE_INTERVAL_MS);
    assert.equal(runs, 2);
    stop();
    mock.timers.tick(3 * PURGE_INTERVAL_MS);
    assert.equal(runs, 2);
  });

  it('when a purge fails, then a warning with the reason is logged and the next round runs again', async () => {
    const lines: string[] = [];
    let runs = 0;
    const stop = startPeriodicPurge(
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('database is locked');
      },
      { logger: createLogger((line) => lines.push(line)), failureMessage: 'session purge failed' },
    );
    mock.timers.tick(PURGE_INTERVAL_MS);
    await new Promise((resolve) => setImmediate(resolve));
    mock.timers.tick(PURGE_INTERVAL_MS);
    stop();
    assert.equal(runs, 2);
    assert.equal(lines.length, 1);
    const logged = JSON.parse(lines[0]!) as { level: string; message: string; reason: string };
    assert.deepEqual([logged.level, logged.message, logged.reason], ['warn', 'session purge failed', 'Error: database is locked']);
  });
});
