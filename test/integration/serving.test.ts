import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ejsModule from 'ejs';
import { startHarness } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import { signIn } from '../support/outcomes.ts';

const VIEWS = fileURLToPath(new URL('../../views/', import.meta.url));
const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));
// The app renders through src/web/view-engine.ts, which imports EJS's ESM build: spy on that instance (Express never requires its own).
const ejs = ejsModule as unknown as {
  fileLoader: (file: string) => Buffer;
  compile: (...args: unknown[]) => unknown;
  resolveInclude: (...args: unknown[]) => string;
};

describe('serving pages: templates compiled once, static files without a disk lookup for the routes', () => {
  let harness: Harness;
  const templateReads: string[] = [];
  let compiles = 0;
  const publicStats: string[] = [];
  const viewProbes: string[] = [];
  let ejsIncludes = 0;
  const originals = {
    fileLoader: ejs.fileLoader,
    compile: ejs.compile,
    resolveInclude: ejs.resolveInclude,
    stat: fs.stat,
    existsSync: fs.existsSync,
    nodeEnv: process.env.NODE_ENV,
  };

  before(async () => {
    ejs.fileLoader = (file) => {
      templateReads.push(file);
      return originals.fileLoader(file);
    };
    ejs.compile = (...args) => {
      compiles += 1;
      return originals.compile(...args);
    };
    ejs.resolveInclude = (...args) => {
      ejsIncludes += 1;
      return originals.resolveInclude(...args);
    };
    fs.stat = ((file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file).startsWith(PUBLIC) || String(file) === PUBLIC.slice(0, -1)) publicStats.push(String(file));
      return (originals.stat as (...args: unknown[]) => void)(file, ...rest);
    }) as typeof fs.stat;
    fs.existsSync = (file: fs.PathLike) => {
      if (String(file).startsWith(VIEWS)) viewProbes.push(String(file));
      return originals.existsSync(file);
    };
    // Express turns its view cache on only for production by default: prove the app does it in development too.
    process.env.NODE_ENV = 'development';
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
    Object.assign(ejs, { fileLoader: originals.fileLoader, compile: originals.compile, resolveInclude: originals.resolveInclude });
    fs.stat = originals.stat;
    fs.existsSync = originals.existsSync;
    if (originals.nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = originals.nodeEnv;
  });

  it('when pages are rendered again and again outside production, then each template is read and compiled only the first time', async () => {
    const { browser } = await signIn(harness);
    const visitor = harness.browser();
    const renderAll = async () => {
      assert.equal((await visitor.request(`${harness.baseUrl}/`)).status, 200);
      assert.equal((await visitor.request(`${harness.baseUrl}/no-such-page`)).status, 404);
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    };
    await renderAll();
    const readsAfterFirst = templateReads.length;
    const compilesAfterFirst = compiles;
    assert.ok(
      readsAfterFirst > 0 && templateReads.every((file) => file.startsWith(VIEWS)),
      'the first pages read the templates from views/',
    );
    for (let round = 0; round < 3; round += 1) await renderAll();
    assert.equal(templateReads.length, readsAfterFirst, 'no template was read again');
    assert.equal(compiles, compilesAfterFirst, 'no template was compiled again');
  });

  it('when pages with includes are rendered, then no include is looked for on disk (EJS probes a relative include name every time)', async () => {
    const { browser } = await signIn(harness);
    viewProbes.length = 0;
    for (let round = 0; round < 2; round += 1) {
      assert.equal((await harness.browser().request(`${harness.baseUrl}/`)).status, 200);
      assert.equal((await harness.browser().request(`${harness.baseUrl}/no-such-page`)).status, 404);
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    }
    assert.deepEqual(viewProbes, []);
  });

  it("when pages with includes are rendered, then each include is the view engine's (no copy of EJS's options, no path resolution per include)", async () => {
    const { browser } = await signIn(harness);
    ejsIncludes = 0;
    const pages = [
      await harness.browser().request(`${harness.baseUrl}/`),
      await harness.browser().request(`${harness.baseUrl}/no-such-page`),
      await browser.request(`${harness.baseUrl}/`),
    ];
    assert.deepEqual(
      pages.map((page) => [page.status, page.body.includes('class="site-footer"')]),
      [
        [200, true],
        [404, true],
        [200, true],
      ],
      'every page has its included footer',
    );
    assert.equal(ejsIncludes, 0, "EJS's own include was called");
  });

  it('when a page is served, then it carries no ETag (pages are no-store, so a hash of each body would be work for nothing)', async () => {
    const { browser } = await signIn(harness);
    const pages = [
      await harness.browser().request(`${harness.baseUrl}/`),
      await browser.request(`${harness.baseUrl}/`),
      await harness.browser().request(`${harness.baseUrl}/no-such-page`),
    ];
    assert.deepEqual(
      pages.map((page) => [page.status, page.headers.get('cache-control'), page.headers.get('etag')]),
      [
        [200, 'no-store', null],
        [200, 'no-store', null],
        [404, 'no-store', null],
      ],
    );
  });

  it('when the signed-out page is kept rendered, then a visitor with a notice still gets it, once, and the next one the plain page', async () => {
    const plain = async () => {
      const response = await fetch(`${harness.baseUrl}/`);
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    };
    const first = await plain();
    const withNotice = await fetch(`${harness.baseUrl}/`, { headers: { cookie: 'o365signin.notice=signed-out' } });
    const noticePage = await withNotice.text();
    const after = await plain();
    assert.equal(first.status, 200);
    assert.equal(first.type, 'text/html; charset=utf-8');
    assert.match(first.body, /Sign in with Office 365/);
    assert.match(noticePage, /You are signed out\./);
    assert.doesNotMatch(first.body, /You are signed out\./);
    assert.deepEqual(after, first);
    assert.equal(withNotice.headers.get('content-type'), first.type);
  });

  it('when a page is requested, then public/ is not looked at; its files are still served at their own paths', async () => {
    const browser = harness.browser();
    publicStats.length = 0;
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    assert.equal((await browser.request(`${harness.baseUrl}/connect`)).status, 302);
    assert.equal((await browser.request(`${harness.baseUrl}/no-such-page`)).status, 404);
    assert.deepEqual(publicStats, []);

    for (const name of fs.readdirSync(PUBLIC)) {
      const asset = await browser.request(`${harness.baseUrl}/${name}`);
      assert.equal(asset.status, 200, name);
      assert.equal(asset.body, fs.readFileSync(path.join(PUBLIC, name), 'utf8'));
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=3600');
    }
    assert.deepEqual(publicStats.map((file) => path.basename(file)).sort(), fs.readdirSync(PUBLIC).sort());
  });
});
