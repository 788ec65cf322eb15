import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import ejs from 'ejs';
import { PROJECT_ROOT } from '../../src/project-root.ts';
import { compileOptionsFor, renderView, VIEWS_DIRECTORY } from '../../src/web/view-engine.ts';

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
    const file = templateFile('locals', '<%# locals: title, count -%>\n<%= title %> <%= count %> <%= typeof include %>');
    assert.equal(renderView(file, { title: 'Signed in', count: 2 }), 'Signed in 2 function');
  });

  it('when a partial is included with data, then it sees the page’s locals with its data on top', () => {
    // views/partials/top.ejs writes its `title` into the page's <title>.
    const file = templateFile('include', `<%- include('/partials/top', { title: 'From the include' }) %>`);
    const html = renderView(file, { title: 'From the page', instanceName: 'one' });
    assert.match(html, /<title>From the include/);
    assert.doesNotMatch(html, /From the page/);
  });

  it('when a partial is included without data, then it still sees the page’s locals (its scope is a copy of the page’s)', () => {
    // views/partials/bottom.ejs names the instance from the page's locals.
    const file = templateFile('inherit', `<%- include('/partials/bottom') %>`);
    assert.match(renderView(file, { instanceName: 'instance-7' }), /Served by instance <code data-instance>instance-7<\/code>/);
  });
});

/** Every template of views/, recursively. */
function viewFiles(directory = VIEWS_DIRECTORY): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) return viewFiles(file);
    return entry.name.endsWith('.ejs') ? [file] : [];
  });
}

/**
 * The names each template reads without declaring them on its locals line, by file: EJS's generated body (compiled as
 * the app compiles it), checked by the TypeScript compiler, which reports every name it cannot find ("TS2304").
 * A global of ES2022 (JSON, Date) is found; a browser's or Node's is not, and templates never need one.
 */
function undeclaredNames(files: readonly string[]): Map<string, string[]> {
  const folder = fs.mkdtempSync(path.join(directory, 'generated-'));
  const generated = files.map((file, index) => {
    const text = fs.readFileSync(file, 'utf8');
    const template = new ejs.Template(text, compileOptionsFor(file, text));
    template.compile();
    // As EJS runs it: its function's parameters, strict mode, and the body inside compileDebug's `try` block.
    const body = `function template(locals, escapeFn, include, rethrow) {\n"use strict";\nlet __line, __lines, __filename;\n{\n${template.source}\n}\n}\n`;
    const name = path.join(folder, `template-${index}.js`);
    fs.writeFileSync(name, body);
    return { file, name };
  });
  let output = '';
  try {
    execFileSync(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        ...[
          '--ignoreConfig',
          '--noEmit',
          '--allowJs',
          '--checkJs',
          '--strict',
          'false',
          '--lib',
          'es2022',
          '--target',
          'es2022',
          '--types',
          '',
        ],
        ...generated.map(({ name }) => name),
      ],
      { encoding: 'utf8' },
    );
  } catch (error) {
    output = String((error as { stdout?: unknown }).stdout ?? '');
  }
  // Only errors in the generated files count; anything else (a bad option, a missing compiler) fails the test.
  const strays = output.split('\n').filter((line) => line.trim() !== '' && !/^\S+\.js\(\d+,\d+\): error TS\d+: /.test(line));
  if (strays.length > 0 || (output !== '' && !output.includes('TS2304')))
    throw new Error(`the TypeScript compiler did not check the templates:\n${output}`);
  const found = new Map<string, string[]>();
  for (const { file, name } of generated) {
    const names = [...output.matchAll(/^(.+?)\(\d+,\d+\): error TS2304: Cannot find name '([^']+)'/gm)]
      .filter(([, reported]) => path.resolve(reported!) === name)
      .map(([, , missing]) => missing!);
    if (names.length > 0) found.set(path.relative(PROJECT_ROOT, file), names);
  }
  return found;
}

describe('the names a template reads', () => {
  it('when the templates of views/ are compiled as the app compiles them, then each declares every name it reads on its locals line', () => {
    const files = viewFiles();
    assert.ok(files.length >= 10, `views/ should hold the pages and their partials, found ${files.length}`);
    assert.deepEqual(Object.fromEntries(undeclaredNames(files)), {});
  });

  it('when a template reads a name its locals line does not declare, then the check names it (and rendering it fails)', () => {
    const file = templateFile('undeclared', '<%# locals: title -%>\n<%= title %> <%= subtitle %>');
    assert.deepEqual(Object.fromEntries(undeclaredNames([file])), { [path.relative(PROJECT_ROOT, file)]: ['subtitle'] });
    assert.throws(() => renderView(file, { title: 'x', subtitle: 'y' }), /subtitle is not defined/);
  });

  it('when a template declares a name its locals lack, then the name is undefined there (as `typeof` tests expect)', () => {
    const file = templateFile('absent', '<%# locals: title, instanceName -%>\n<%= title %> <%= typeof instanceName %>');
    assert.equal(renderView(file, { title: 'x' }), 'x undefined');
  });
});
