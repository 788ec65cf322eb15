import { parseArgs } from 'node:util';
import type { SetupAnswers } from './setup-answers.ts';

/** `npm run setup`'s command line. `mode` "auto" means: prompt when stdin is a terminal. */
export interface SetupOptions {
  readonly answers: Partial<SetupAnswers>;
  /** Make a self-signed certificate in data/ and use it instead of a client secret. */
  readonly certificate: boolean;
  readonly force: boolean;
  readonly mode: 'interactive' | 'non-interactive' | 'auto';
  readonly envFile: string;
  readonly help: boolean;
}

export type SetupOptionsResult = { ok: true; options: SetupOptions } | { ok: false; message: string };

/** Exit codes of `npm run setup`, as --help documents them. */
export const SETUP_EXIT = { ok: 0, invalid: 1, usage: 2, envFileExists: 3 } as const;

export const SETUP_USAGE = `Usage: npm run setup -- [options]

Writes .env for o365-signin: your app registration's values (a client secret, or a certificate it
makes), fresh random SESSION_SECRET and
TOKEN_ENCRYPTION_KEY, and the rest as in .env.example. Then prints the redirect URI to register
and the Azure CLI commands that register the app. Asks for what the options do not give when
stdin is a terminal.

Options:
  --app-id <guid>      Application (client) ID (O365_APP_ID)
  --secret <value>     client secret Value (O365_APP_KEY); visible in shell history and process
                       lists, so prefer typing it at the prompt
  --certificate        no secret: make a self-signed certificate and key in data/ (kept if already
                       there), set O365_APP_CERT_PATH and O365_APP_CERT_KEY_PATH, and print how to
                       upload the certificate (recommended: secrets expire and may be forbidden)
  --tenant <tenant>    common, organizations, consumers, a tenant ID or a domain (O365_TENANT; default common)
  --base-url <url>     public URL of the app (BASE_URL; default http://127.0.0.1:5000)
  --output <path>      where to write (default .env in the current folder)
  --force              replace an existing .env without asking
  -y, --yes            never prompt: fail on missing or invalid values
  --interactive        prompt even when stdin is not a terminal (answers one per line)
  -h, --help           show this help

Exit codes: 0 written (or you chose to keep the existing .env), 1 invalid or missing values,
2 bad options, 3 .env exists and neither --force nor a "y" allowed replacing it.`;

/** Reads the options; unknown options and stray arguments are errors, so a typo never passes silently. */
export function parseSetupOptions(argv: readonly string[]): SetupOptionsResult {
  let values: ReturnType<typeof readArguments>;
  try {
    values = readArguments(argv);
  } catch (error) {
    // A stray argument may be a secret (`npm run setup --secret X` gives npm the option and the script X): never echo it.
    if ((error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      return {
        ok: false,
        message: 'unexpected argument: options start with --, and npm needs -- before them (npm run setup -- --app-id …)',
      };
    }
    return { ok: false, message: (error as Error).message.replaceAll('\n', ' ') };
  }
  if (values.yes && values.interactive) return { ok: false, message: '--yes and --interactive cannot be used together' };
  if (values.secret !== undefined && values.certificate) {
    return { ok: false, message: '--secret and --certificate cannot be used together: the app uses one credential' };
  }
  const answers: Partial<SetupAnswers> = {};
  if (values['app-id'] !== undefined) answers.appId = values['app-id'];
  if (values.secret !== undefined) answers.appKey = values.secret;
  if (values.tenant !== undefined) answers.tenant = values.tenant;
  if (values['base-url'] !== undefined) answers.baseUrl = values['base-url'];
  return {
    ok: true,
    options: {
      answers,
      certificate: values.certificate,
      force: values.force,
      mode: values.yes ? 'non-interactive' : values.interactive ? 'interactive' : 'auto',
      envFile: values.output ?? '.env',
      help: values.help,
    },
  };
}

function readArguments(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'app-id': { type: 'string' },
      secret: { type: 'string' },
      certificate: { type: 'boolean', default: false },
      tenant: { type: 'string' },
      'base-url': { type: 'string' },
      // Not --env-file: Node 20 takes that one for itself wherever it appears on the command line.
      output: { type: 'string' },
      force: { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      interactive: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
}
