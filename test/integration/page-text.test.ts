import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VIEWS_DIRECTORY } from '../../src/web/view-engine.ts';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';

/**
 * The characters of a text that V8 cannot keep one byte each (above U+00FF, outside Latin-1). One of them anywhere in a
 * page makes V8 hold the whole page in two bytes a character: twice the memory while it is rendered, and a conversion
 * instead of a copy when it becomes the response's bytes (the signed-in page is 16 KB, rendered at every sign-in).
 */
function wideCharacters(text: string): string[] {
  return [...new Set([...text].filter((character) => character.charCodeAt(0) > 0xff))].map(
    (character) => `${character} (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`,
  );
}

describe('the text of the pages a sign-in renders', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('when the views are read, then every template is Latin-1 text: a character beyond it is written as an HTML entity (&hellip;)', () => {
    const templates = fs.readdirSync(VIEWS_DIRECTORY, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ejs'));
    assert.ok(templates.length > 5, `too few templates found in ${VIEWS_DIRECTORY}`);
    for (const name of templates) {
      assert.deepEqual(wideCharacters(fs.readFileSync(path.join(VIEWS_DIRECTORY, name), 'utf8')), [], `views/${name}`);
    }
  });

  it('when a person opens the signed-out page, signs in and opens the signed-in page, then both pages are Latin-1 text', async () => {
    const browser = harness.browser();
    const signedOut = await browser.request(`${harness.baseUrl}/`);
    assert.match(signedOut.body, /Sign in with Office 365/);
    assert.deepEqual(wideCharacters(signedOut.body), [], 'the signed-out page');
    assert.equal((await browser.request(await harness.authorize(browser))).status, 303);
    const signedIn = await browser.request(`${harness.baseUrl}/`);
    assert.match(signedIn.body, /Signed in as/);
    assert.deepEqual(wideCharacters(signedIn.body), [], 'the signed-in page');
  });
});
