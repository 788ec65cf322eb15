import { parseConfig, type Config, type settingsSchema } from '../config.ts';
import { formatEnvValue, readEnvText, renderEnvFile, type GeneratedKeys } from './env-file.ts';

/** What `npm run setup` asks for, and the variable each answer fills. */
export const SETUP_VARIABLES = {
  appId: 'O365_APP_ID',
  appKey: 'O365_APP_KEY',
  // Filled by setup itself when it makes a certificate instead of asking for a secret.
  certificatePath: 'O365_APP_CERT_PATH',
  certificateKeyPath: 'O365_APP_CERT_KEY_PATH',
  tenant: 'O365_TENANT',
  baseUrl: 'BASE_URL',
} as const satisfies Record<string, keyof typeof settingsSchema.shape>;

export type SetupField = keyof typeof SETUP_VARIABLES;
export type SetupAnswers = Record<SetupField, string>;

/** One problem, as parseConfig words it; `field` names the answer to ask again (undefined: none of them). */
export interface AnswerProblem {
  readonly field: SetupField | undefined;
  readonly message: string;
}

export type EnvFileResult = { ok: true; text: string; config: Config } | { ok: false; problems: AnswerProblem[] };

const FIELDS = Object.keys(SETUP_VARIABLES) as SetupField[];

/** The defaults .env.example gives for the answers (blank ones left out): what an empty answer means. */
export function readDefaultAnswers(template: string): Partial<SetupAnswers> {
  const values = readEnvText(template);
  const defaults: Partial<SetupAnswers> = {};
  for (const field of FIELDS) {
    const value = values[SETUP_VARIABLES[field]];
    if (value !== undefined && value !== '') defaults[field] = value;
  }
  return defaults;
}

/**
 * The .env text for these answers and keys, accepted only if it reads back as `npm start` reads it
 * (dotenv, then parseConfig) with exactly these values. A blank or missing answer keeps the template's value.
 */
export function buildEnvFile(template: string, answers: Partial<SetupAnswers>, keys: GeneratedKeys): EnvFileResult {
  const problems: AnswerProblem[] = [];
  const values: Record<string, string> = { ...keys };
  for (const field of FIELDS) {
    const value = answers[field]?.trim();
    if (value === undefined || value === '') continue;
    try {
      formatEnvValue(value);
      values[SETUP_VARIABLES[field]] = value;
    } catch (error) {
      problems.push({ field, message: `${SETUP_VARIABLES[field]} cannot be written: ${(error as Error).message}.` });
    }
  }

  const text = renderEnvFile(template, values);
  const env = readEnvText(text);
  const readBack = Object.entries(values).find(([name, value]) => env[name] !== value);
  if (readBack !== undefined) throw new Error(`${readBack[0]} does not read back from .env unchanged`);

  const result = parseConfig(env);
  if (!result.ok) {
    const unwritable = new Set(problems.map((problem) => problem.field));
    for (const message of result.problems) {
      const field = fieldOf(message);
      if (field === undefined || !unwritable.has(field)) problems.push({ field, message });
    }
  }
  if (problems.length > 0 || !result.ok) return { ok: false, problems };
  return { ok: true, text, config: result.config };
}

// parseConfig starts every problem with the variable's name.
function fieldOf(message: string): SetupField | undefined {
  return FIELDS.find((field) => message.startsWith(`${SETUP_VARIABLES[field]} `));
}
