// npm run token | setup | rotate-key | migrate: runs the command's compiled entry, dist/cli/<name>.js. In a development
// checkout (tsx installed) whose dist/ is missing or older than src/, it runs the TypeScript source src/cli/<name>.ts
// through tsx instead, so an edit counts at once without a build. Plain JavaScript with no dependency: a production
// install has neither tsx nor the sources' compiler. It writes nothing on stdout: that is the command's own.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isBuildStale } from './build.mjs';

const COMMANDS = ['token', 'setup', 'rotate-key', 'migrate'];
// Options that need the development install: `token --demo` reads the demo's settings from dev/.
const DEVELOPMENT_OPTIONS = { token: ['--demo'] };

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2];
if (!COMMANDS.includes(name)) {
  process.stderr.write(`usage: node scripts/cli.mjs <${COMMANDS.join('|')}> [options]\n`);
  process.exit(2);
}
// The command reads its own options from process.argv.slice(2), as when it was run directly.
process.argv.splice(2, 1);

const compiled = path.join(projectRoot, 'dist', 'cli', `${name}.js`);
const source = path.join(projectRoot, 'src', 'cli', `${name}.ts`);
const hasTsx = fs.existsSync(path.join(projectRoot, 'node_modules', 'tsx', 'package.json')) && fs.existsSync(source);
const needsSource = (DEVELOPMENT_OPTIONS[name] ?? []).some((option) => process.argv.includes(option));

if (hasTsx && (needsSource || !fs.existsSync(compiled) || isBuildStale())) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else if (fs.existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write(`npm run ${name}: ${path.relative(projectRoot, compiled)} is missing: run npm run build first.\n`);
  process.exitCode = 1;
}
