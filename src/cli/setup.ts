// npm run setup: asks for the app registration's values (or takes flags), writes .env with fresh keys, prints what to register.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { Writable } from 'node:stream';
import { APP_DISPLAY_NAME, buildAzCommands } from '../setup/az-commands.ts';
import { createKeys } from '../setup/env-file.ts';
import {
  buildEnvFile,
  readDefaultAnswers,
  SETUP_VARIABLES,
  type AnswerProblem,
  type SetupAnswers,
  type SetupField,
} from '../setup/setup-answers.ts';
import { parseSetupOptions, SETUP_EXIT, SETUP_USAGE } from '../setup/setup-options.ts';

// The certificate's paths are never asked: setup makes the certificate when the secret is left empty.
const QUESTIONS: Partial<Record<SetupField, string>> = {
  appId: 'Application (client) ID',
  appKey: 'Client secret Value (not the Secret ID), or leave empty to use a certificate instead (recommended)',
  tenant: 'Tenant: common, organizations, consumers, a tenant ID or a domain',
  baseUrl: 'Public URL of this app',
};
const CERTIFICATE_NAMES = { certificate: 'o365-signin-certificate.pem', key: 'o365-signin-certificate-key.pem' };

interface Prompter {
  /** The next line typed or piped; throws when stdin ends first. */
  ask(question: string, options?: { hidden?: boolean }): Promise<string>;
  readonly hidesInput: boolean;
  close(): void;
}

class InputEndedError extends Error {}

process.exitCode = await runSetup(process.argv.slice(2));

async function runSetup(argv: string[]): Promise<number> {
  const parsed = parseSetupOptions(argv);
  if (!parsed.ok) {
    console.error(`npm run setup: ${parsed.message.replace(/\.$/, '')}. See npm run setup -- --help.`);
    return SETUP_EXIT.usage;
  }
  const { options } = parsed;
  if (options.help) {
    console.log(SETUP_USAGE);
    return SETUP_EXIT.ok;
  }

  const template = fs.readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const envPath = path.resolve(options.envFile);
  const envName = path.relative(process.cwd(), envPath) || envPath;
  const interactive = options.mode === 'interactive' || (options.mode === 'auto' && process.stdin.isTTY === true);
  const prompter = interactive ? createPrompter() : undefined;
  try {
    let overwrite = options.force;
    if (!overwrite && fs.existsSync(envPath)) {
      if (prompter === undefined) return refuseToOverwrite(envName);
      const answer = await prompter.ask(
        `${envName} already exists; new keys in it sign everyone out and make stored tokens unreadable. Overwrite ${envName}? [y/N] `,
      );
      if (!/^y(es)?$/i.test(answer.trim())) {
        console.log(`Left ${envName} unchanged.`);
        return SETUP_EXIT.ok;
      }
      overwrite = true;
    }

    const keys = createKeys();
    const answers: Partial<SetupAnswers> = { ...options.answers };
    let useCertificate = options.certificate;
    if (prompter !== undefined) useCertificate = await askForAnswers(prompter, template, answers, useCertificate);
    let certificate: SetupCertificate | undefined;
    if (useCertificate) {
      // Only once every other answer is good: a refused setup leaves nothing behind.
      const check = buildEnvFile(template, answers, keys);
      const problems = check.ok ? [] : check.problems.filter((problem) => problem.field !== 'appKey');
      if (problems.length > 0) return reportProblems(envName, problems);
      certificate = await makeCertificate(answers);
    }
    const result = buildEnvFile(template, answers, keys);
    if (!result.ok) return reportProblems(envName, result.problems);

    if (!writeEnvFile(envPath, result.text, overwrite)) return refuseToOverwrite(envName);
    printNextSteps(envPath, result.config, certificate);
    return SETUP_EXIT.ok;
  } catch (error) {
    if (error instanceof InputEndedError) {
      console.error(`npm run setup: input ended before every value was given; nothing written.`);
      return SETUP_EXIT.invalid;
    }
    console.error(`npm run setup: cannot write ${envName}: ${(error as Error).message}`);
    return SETUP_EXIT.invalid;
  } finally {
    prompter?.close();
  }
}

/**
 * Asks for each value the flags did not give, and again for one parseConfig rejects. An empty secret chooses a
 * certificate instead; returns whether a certificate is to be made.
 */
async function askForAnswers(prompter: Prompter, template: string, answers: Partial<SetupAnswers>, certificate: boolean): Promise<boolean> {
  const defaults = readDefaultAnswers(template);
  let useCertificate = certificate;
  for (const field of Object.keys(SETUP_VARIABLES) as SetupField[]) {
    const question = QUESTIONS[field];
    if (question === undefined || (field === 'appKey' && useCertificate)) continue;
    for (;;) {
      if (answers[field] === undefined) {
        const hidden = field === 'appKey';
        const suffix =
          defaults[field] !== undefined
            ? ` [${defaults[field]}]`
            : !hidden
              ? ''
              : prompter.hidesInput
                ? ' (not shown as you type)'
                : ' (visible as you type)';
        answers[field] = await prompter.ask(`${question}${suffix}: `, { hidden });
        if (field === 'appKey' && answers.appKey?.trim() === '') {
          delete answers.appKey;
          useCertificate = true;
          break;
        }
      }
      // Only this answer's problems: later answers have not been asked yet.
      const check = buildEnvFile(template, answers, createKeys());
      const problems = check.ok ? [] : check.problems.filter((problem) => problem.field === field);
      if (problems.length === 0) break;
      for (const problem of problems) console.error(`  ${problem.message}`);
      delete answers[field];
    }
  }
  return useCertificate;
}

interface SetupCertificate {
  readonly certificatePath: string;
  readonly keyPath: string;
  readonly created: boolean;
  readonly sha1Hex: string;
  readonly notAfter: Date;
}

/**
 * The app's certificate and key in ./data (0600), made unless a valid pair is there already (it may be uploaded by now),
 * named in the answers as paths relative to this folder, where the app runs, like DATABASE_URL's file:./data/app.db.
 */
async function makeCertificate(answers: Partial<SetupAnswers>): Promise<SetupCertificate> {
  const folder = path.resolve('data');
  // Loaded only for a certificate: the X.509 builder is not needed to write a secret.
  const { ensureCertificateFiles } = await import('../setup/self-signed-certificate.ts');
  const files = await ensureCertificateFiles(folder, CERTIFICATE_NAMES, APP_DISPLAY_NAME);
  const relative = (file: string) => {
    const name = path.relative(process.cwd(), file);
    return name.startsWith('..') || path.isAbsolute(name) ? file : `./${name.split(path.sep).join('/')}`;
  };
  answers.certificatePath = relative(files.certificatePath);
  answers.certificateKeyPath = relative(files.keyPath);
  return {
    certificatePath: answers.certificatePath,
    keyPath: answers.certificateKeyPath,
    created: files.created,
    sha1Hex: files.thumbprints.sha1Hex,
    notAfter: files.notAfter,
  };
}

function createPrompter(): Prompter {
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  let muted = false;
  // readline echoes what is typed to its output; muting that output hides the secret.
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const lines = readline.createInterface({ input: process.stdin, output, terminal });
  lines.on('SIGINT', () => {
    process.stdout.write('\n');
    process.exit(130);
  });
  // The iterator buffers lines, so answers piped all at once are not lost between questions.
  const nextLines = lines[Symbol.asyncIterator]();
  return {
    hidesInput: terminal,
    async ask(question, { hidden = false } = {}) {
      lines.setPrompt(question);
      lines.prompt();
      muted = hidden && terminal;
      const { value, done } = await nextLines.next();
      muted = false;
      // The Enter was not echoed: piped input never is, hidden input was muted.
      if (hidden || !terminal) process.stdout.write('\n');
      if (done === true) throw new InputEndedError();
      return value;
    },
    close: () => lines.close(),
  };
}

/** Writes a temporary file next to .env, then moves it in place: .env is never half-written, and never replaced unless `overwrite`. */
function writeEnvFile(envPath: string, text: string, overwrite: boolean): boolean {
  const temporaryPath = path.join(path.dirname(envPath), `.${path.basename(envPath)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const descriptor = fs.openSync(temporaryPath, 'wx', 0o600);
  try {
    fs.writeFileSync(descriptor, text);
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
  try {
    if (overwrite) {
      fs.renameSync(temporaryPath, envPath);
      return true;
    }
    // link() fails if .env appeared since the check: never replaced without asking.
    fs.linkSync(temporaryPath, envPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temporaryPath, { force: true });
  }
}

function refuseToOverwrite(envName: string): number {
  console.error(
    `npm run setup: ${envName} already exists; left it unchanged. Run with --force to replace it (its new keys sign everyone out and make stored tokens unreadable).`,
  );
  return SETUP_EXIT.envFileExists;
}

function reportProblems(envName: string, problems: readonly AnswerProblem[]): number {
  console.error(`npm run setup: nothing written to ${envName}:`);
  for (const problem of problems) console.error(`  - ${problem.message}`);
  console.error(
    'Give the values as --app-id (O365_APP_ID), --secret (O365_APP_KEY) or --certificate, --tenant (O365_TENANT) and --base-url (BASE_URL), ' +
      'or run it in a terminal without --yes to be asked.',
  );
  return SETUP_EXIT.invalid;
}

function printNextSteps(
  envPath: string,
  config: { appId: string; tenant: string; redirectUri: string },
  certificate: SetupCertificate | undefined,
): void {
  const az = buildAzCommands(config);
  const credential =
    certificate === undefined
      ? ['A new client secret for the app (it prints the Value once; put it in O365_APP_KEY):', `  ${az.createSecret}`]
      : [
          'Upload the certificate to the app registration (--append keeps its other credentials):',
          `  ${az.uploadCertificate(certificate.certificatePath)}`,
          `or in the portal: Microsoft Entra admin center › App registrations › your app › Certificates & secrets › Certificates › Upload certificate, and choose ${certificate.certificatePath}.`,
          `The portal then lists its Thumbprint ${certificate.sha1Hex}.`,
        ];
  const lines = [
    `Wrote ${envPath} (readable only by you) with fresh SESSION_SECRET and TOKEN_ENCRYPTION_KEY.`,
    ...(certificate === undefined
      ? []
      : [
          `${certificate.created ? 'Made' : 'Kept'} the app's certificate (no client secret needed), valid until ${certificate.notAfter.toISOString().slice(0, 10)}:`,
          `  certificate  ${certificate.certificatePath}  (SHA-1 thumbprint ${certificate.sha1Hex})`,
          `  private key  ${certificate.keyPath}  (readable only by you: never upload or share it)`,
        ]),
    '',
    'Register this redirect URI on the app (platform Web), exactly:',
    `  ${config.redirectUri}`,
    '',
    'No app registration yet? With the Azure CLI (it prints the Application (client) ID):',
    ...(az.login === undefined ? [] : [`  ${az.login}`]),
    `  ${az.createApp}`,
    ...credential,
    '',
    'Next: npm start',
  ];
  console.log(lines.join('\n'));
}
