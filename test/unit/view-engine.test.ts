import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { renderView } from '../../src/web/view-engine.ts';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'view-engine-'));
after(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A page template of its own in a temporary folder (its includes still come from views/). */
function templateFile(name: string, source: string): string {
  const file = path.join(directory, `${name}.ejs`);
  fs.writeFileSync(file, source);
  return file;
}

describe('the view engine’s scope for a template', () => {
  it('when a template reads a name its locals lack, then nothing of Object.prototype answers (EJS’s guard, kept without its copy)', () => {
    // `locals` is the scope object EJS runs the body `with`: without a prototype chain to Object.prototype, it has no
    // `constructor`, `toString` or `hasOwnProperty` of its own to offer, whatever was added to Object.prototype.
    const file = templateFile('prototype', '<%= locals.constructor === undefined %> <%= "hasOwnProperty" in locals %>');
    assert.equal(renderView(file, { title: 'x' }), 'true false');
  });

  it('when a template is rendered, then it sees its locals as given and an include of its own', () => {
    const file = templateFile('locals', '<%= title %> <%= count %> <%= typeof include %>');
    assert.equal(renderView(file, { title: 'Signed in', count: 2 }), 'Signed in 2 function');
  });

  it('when a partial is included with data, then it sees the page’s locals with its data on top', () => {
    // views/partials/top.ejs writes its `title` into the page's <title>.
    const file = templateFile('include', `<%- include('/partials/top', { title: 'From the include' }) %>`);
    const html = renderView(file, { title: 'From the page', instanceName: 'one' });
    assert.match(html, /<title>From the include/);
    assert.doesNotMatch(html, /From the page/);
  });

  it('when a partial is included without data, then it still sees the page’s locals (through its scope’s prototype)', () => {
    // views/partials/bottom.ejs names the instance from the page's locals.
    const file = templateFile('inherit', `<%- include('/partials/bottom') %>`);
    assert.match(renderView(file, { instanceName: 'instance-7' }), /Served by instance <code data-instance>instance-7<\/code>/);
  });
});
