// npm run token: prints a fresh access token for scripts. Everything but the token goes to stderr.
import '../load-env.ts';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Environment, SettingsResult } from '../config.ts';
import { EXIT } from './exit-codes.ts';
import { runTokenCommand } from './token-command.ts';

type DemoEnvironment = (env: Environment) => SettingsResult<Environment> | undefined;

// The demo's settings live in dev/, which a production install does not have. src/ never imports it statically, and
// the compiled command (dist/cli/token.js) never at all: scripts/cli.mjs runs this source through tsx for --demo.
const DEMO_SETTINGS = new URL('../../dev/demo-settings.ts', import.meta.url);
const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The demo's settings reader, or undefined outside a development checkout run through tsx. */
async function loadDemoEnvironment(): Promise<DemoEnvironment | undefined> {
  if (!RUNNING_FROM_SOURCE || !fs.existsSync(fileURLToPath(DEMO_SETTINGS))) return undefined;
  const module = (await import(DEMO_SETTINGS.href)) as { existingDemoEnvironment: DemoEnvironment };
  return module.existingDemoEnvironment;
}

async function main(argv: string[]): Promise<number> {
  let demoEnvironment: DemoEnvironment | undefined;
  if (argv.includes('--demo')) {
    demoEnvironment = await loadDemoEnvironment();
    if (demoEnvironment === undefined) {
      process.stderr.write(
        '--demo reads the settings of npm run demo, which only a development install has (npm install, then npm run demo). ' +
          'Without --demo, the command uses the settings the app runs with (.env or the environment).\n',
      );
      return EXIT.usage;
    }
  }
  return runTokenCommand(
    argv,
    process.env,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    },
    demoEnvironment,
  );
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`npm run token failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
