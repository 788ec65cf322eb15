import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { copyDependencies } from '../../scripts/node-line.ts';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-node-line-test-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

/** A project whose node_modules holds a plain package and two native ones (a binding.gyp, a build of their own). */
function createProject(): string {
  const root = fs.mkdtempSync(path.join(folder, 'project-'));
  const write = (relative: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    fs.writeFileSync(path.join(root, relative), text);
  };
  write('node_modules/plain/index.js', 'module.exports = 1;\n');
  for (const name of ['native-db', '@scope/native-addon']) {
    write(`node_modules/${name}/binding.gyp`, '{}\n');
    write(`node_modules/${name}/src/addon.cc`, '// source\n');
    write(`node_modules/${name}/build/Release/addon.node`, 'built for the ABI of the node that ran npm\n');
  }
  return root;
}

describe('copyDependencies', () => {
  it('when the copy is prepared, then plain packages are hard links and native ones are real copies without their build', () => {
    const root = createProject();
    const copy = fs.mkdtempSync(path.join(folder, 'copy-'));
    const { how, natives } = copyDependencies(root, copy);
    assert.equal(how, 'hard links');
    assert.deepEqual(natives, ['@scope/native-addon', 'native-db']);
    const inode = (base: string, relative: string) => fs.statSync(path.join(base, 'node_modules', relative)).ino;
    assert.equal(inode(copy, 'plain/index.js'), inode(root, 'plain/index.js'));
    for (const name of natives) {
      assert.notEqual(inode(copy, `${name}/src/addon.cc`), inode(root, `${name}/src/addon.cc`));
      assert.equal(fs.existsSync(path.join(copy, 'node_modules', name, 'build')), false);
    }
  });

  it('when a native package is rebuilt in the copy, then the original sources and build are untouched', () => {
    const root = createProject();
    const copy = fs.mkdtempSync(path.join(folder, 'copy-'));
    copyDependencies(root, copy);
    for (const name of ['native-db', '@scope/native-addon']) {
      fs.writeFileSync(path.join(copy, 'node_modules', name, 'src', 'addon.cc'), '// patched by a rebuild\n');
      fs.mkdirSync(path.join(copy, 'node_modules', name, 'build', 'Release'), { recursive: true });
      fs.writeFileSync(path.join(copy, 'node_modules', name, 'build', 'Release', 'addon.node'), 'built for the other line\n');
      assert.equal(fs.readFileSync(path.join(root, 'node_modules', name, 'src', 'addon.cc'), 'utf8'), '// source\n');
      assert.equal(
        fs.readFileSync(path.join(root, 'node_modules', name, 'build', 'Release', 'addon.node'), 'utf8'),
        'built for the ABI of the node that ran npm\n',
      );
    }
  });
});
