// npm run token: prints a fresh access token for scripts. Everything but the token goes to stderr.
import '../src/load-env.ts';
import { runTokenCommand } from '../src/cli/token-command.ts';
import { existingDemoEnvironment } from '../dev/demo-settings.ts';

try {
  process.exitCode = await runTokenCommand(
    process.argv.slice(2),
    process.env,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    },
    existingDemoEnvironment,
  );
} catch (error) {
  process.stderr.write(`npm run token failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
