// npm run token as the compiled app runs it: dist/cli/token-command.js after dist/load-env.js, with no TypeScript loader,
// for tests that look at what the command loads. Run tokenCommandFromDist() first, so dist/ is current.
import '../../dist/load-env.js';
import { runTokenCommand } from '../../dist/cli/token-command.js';

process.exitCode = await runTokenCommand(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
