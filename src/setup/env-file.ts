import crypto from 'node:crypto';
import dotenv from 'dotenv';

/** The two keys `npm run setup` generates: fresh for every .env it writes. */
export interface GeneratedKeys {
  readonly SESSION_SECRET: string;
  readonly TOKEN_ENCRYPTION_KEY: string;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=.*?(\r?)$/;
// Left unquoted: read back unchanged by dotenv and by a shell that sources the file.
const PLAIN_VALUE = /^[A-Za-z0-9_.,:/~+=@%-]*$/;

/** 32 random bytes each: SESSION_SECRET in base64url (43 characters), TOKEN_ENCRYPTION_KEY in base64 (44 characters). */
export function createKeys(randomBytes: (size: number) => Buffer = crypto.randomBytes): GeneratedKeys {
  return {
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
}

/** The variables a .env text sets, read exactly as dotenv (and so `npm start`) will read them. */
export function readEnvText(text: string): Record<string, string> {
  return dotenv.parse(text);
}

/**
 * The template (.env.example's text) with the named variables set: every other line, comment and
 * the order stay as they are. Throws if the template lacks a variable, so the two cannot drift apart.
 */
export function renderEnvFile(template: string, values: Readonly<Record<string, string>>): string {
  const unset = new Set(Object.keys(values));
  const lines = template.split('\n').map((line) => {
    const [, name, lineEnd = ''] = ASSIGNMENT.exec(line) ?? [];
    if (name === undefined || !Object.hasOwn(values, name)) return line;
    unset.delete(name);
    return `${name}=${formatEnvValue(values[name] ?? '')}${lineEnd}`;
  });
  if (unset.size > 0) throw new Error(`.env.example has no line for ${[...unset].join(', ')}`);
  return lines.join('\n');
}

/** A value as dotenv reads it back unchanged: plain when it can be, else quoted; throws for what no quoting keeps (line breaks). */
export function formatEnvValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('a value in .env cannot span lines');
  if (PLAIN_VALUE.test(value)) return value;
  // Single quotes are literal in dotenv; double quotes would expand \n.
  for (const quote of ["'", '`']) {
    if (!value.includes(quote)) return `${quote}${value}${quote}`;
  }
  throw new Error("a value in .env cannot contain both ' and `");
}
