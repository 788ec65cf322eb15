// npm start: runs the compiled app, dist/server.js, which `npm run build` makes. It never compiles: a production
// install has no compiler (docs/DEPLOYING.md).
import fs from 'node:fs';
import { isBuildStale } from './build.mjs';

const server = new URL('../dist/server.js', import.meta.url);
if (!fs.existsSync(server)) {
  process.stderr.write('o365-signin cannot start: dist/server.js is missing: run npm run build first.\n');
  process.exit(1);
}
if (isBuildStale()) {
  process.stderr.write(
    'o365-signin: src/ changed since the last npm run build: starting the older dist/ (run npm run build to include the changes).\n',
  );
}
await import(server.href);
