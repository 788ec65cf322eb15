// node --import ./module-trace.mjs …: writes the URL of every module the process loads to the file named by
// MODULE_TRACE_FILE, one a line: ES modules as they load (module-trace-hooks.mjs), CommonJS ones from require's cache at
// exit. Plain JavaScript, so it also runs without a TypeScript loader (the compiled app in dist/).
import fs from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
if (file === undefined) throw new Error('module-trace.mjs: set MODULE_TRACE_FILE to the file that receives the module list');
fs.writeFileSync(file, '');
register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { file } });
const require = createRequire(import.meta.url);
process.on('exit', () => {
  fs.appendFileSync(
    file,
    Object.keys(require.cache)
      .map((path) => `file://${path}\n`)
      .join(''),
  );
});
