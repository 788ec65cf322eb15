import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';

// V8's own test of hidden classes, as its test suite uses it: set before the function below is parsed.
v8.setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** A request and its response once answered, with what the test calls the request. */
interface Answered {
  readonly name: string;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
}

describe('the hidden classes of requests and responses (request-prototypes.ts)', () => {
  let harness: Harness;
  const answered: Answered[] = [];
  let naming = '';
  before(async () => {
    harness = await startHarness();
    harness.server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const name = naming;
      res.once('close', () => answered.push({ name, req, res }));
    });
  });
  after(async () => {
    await harness.close();
  });

  /** Sends one request and waits until the server has closed its response. */
  const step = async (name: string, request: () => Promise<unknown>) => {
    naming = name;
    const count = answered.length;
    await request();
    while (answered.length === count) await new Promise((resolve) => setImmediate(resolve));
  };

  it('when a person opens the signed-out page, signs in (/connect, the callback) and opens the signed-in page, then every request the app answered has the hidden class of the first, and every response too: code compiled for the pages is never thrown away when a sign-in comes', async () => {
    const browser = harness.browser();
    await step('signed-out page', () => browser.request(`${harness.baseUrl}/`));
    naming = '/connect';
    const callbackUrl = await harness.authorize(browser);
    await step('callback', () => browser.request(callbackUrl));
    await step('signed-in page', () => browser.request(`${harness.baseUrl}/`));
    const names = answered.map((entry) => entry.name);
    for (const expected of ['signed-out page', '/connect', 'callback', 'signed-in page'])
      assert.ok(names.includes(expected), `no ${expected} request was answered (${names.join(', ')})`);
    const [first] = answered;
    for (const { name, req, res } of answered) {
      assert.ok(haveSameMap(req, first!.req), `the request of the ${name} has another hidden class than the ${first!.name}'s`);
      assert.ok(haveSameMap(res, first!.res), `the response of the ${name} has another hidden class than the ${first!.name}'s`);
    }
  });
});
