// npm start: runs the compiled app (dist/server.js), compiling it first when src/ changed since the last build.
import { buildIfStale } from './build.mjs';

try {
  buildIfStale();
} catch (error) {
  process.stderr.write(`o365-signin cannot start: ${error.message}\n`);
  process.exit(1);
}
await import('../dist/server.js');
