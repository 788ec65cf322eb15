import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import * as z from 'zod';
import { checkDatabaseUrl, DEFAULT_DATABASE_URL } from './db/database-url.ts';
import {
  certificateExpiryWarning,
  openClientCertificate,
  privateKeyModeWarning,
  readCertificateFile,
  readPrivateKeyFile,
} from './auth/client-certificate.ts';
import type { CertificateFile, PrivateKeyFile } from './auth/client-certificate.ts';
import type { AssertionAlgorithm, ClientCredential, FederatedTokenSetting } from './auth/client-credential.ts';

/** Variables as the process sees them (process.env, or a test's object). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A parse of some variables: their values, or every problem at once, one line each, in the order the schema lists them. */
export type SettingsResult<T> = { ok: true; settings: T } | { ok: false; problems: string[] };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const TENANT_ALIASES = new Set(['common', 'organizations', 'consumers']);
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const INSTANCE_NAME = /^[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]{0,30}[A-Za-z0-9._-])?$/;
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const ENTRA_APP = 'Microsoft Entra admin center › App registrations';
const OPENSSL_KEY = '`openssl rand -base64 32`';

/** True when people open the app over https: Secure and __Host- cookies, HSTS. */
export function servesHttps(config: Pick<Config, 'baseUrl'>): boolean {
  return config.baseUrl.startsWith('https:');
}

/** True for a tenant GUID such as the `tid` claim carries. */
export function isTenantId(value: string): boolean {
  return GUID.test(value);
}

/** The redirect URI for a BASE_URL origin: always `${baseUrl}/connect/get_token`, never derived from request headers. */
export function redirectUriFor(baseUrl: string): string {
  return `${baseUrl}/connect/get_token`;
}

// Every variable the project reads, by its name: its rule, the line that says how to fix a bad value, and its default
// (`prefault`: written as in .env and checked like a given value). Entry points parse the variables they need with `pick`.
const appVariables = {
  NODE_ENV: z.string().optional(),
  O365_APP_ID: z
    .string({ error: `O365_APP_ID is missing: copy the Application (client) ID from ${ENTRA_APP} › your app › Overview.` })
    .refine(
      isTenantId,
      explain(
        (value) =>
          `O365_APP_ID "${value}" is not a GUID: use the Application (client) ID from ${ENTRA_APP} › your app › Overview, not its name or object ID.`,
      ),
    ),
  // Missing is a rule across settings (a certificate or a federated token file may stand in for it): see configSchema.
  O365_APP_KEY: z
    .string()
    .refine(
      (value) => !isTenantId(value),
      explain(() => `O365_APP_KEY looks like a Secret ID: copy the secret's Value from ${ENTRA_APP} › your app › Certificates & secrets.`),
    )
    .optional(),
  O365_APP_CERT_PATH: z
    .string()
    .transform((value, context) => {
      const read = readCertificateFile(value, Date.now());
      if (read.ok) return read.file;
      reject(context, `O365_APP_CERT_PATH ${read.problem}`);
      return z.NEVER;
    })
    .optional(),
  O365_APP_CERT_KEY_PATH: z
    .string()
    .transform((value, context) => {
      const read = readPrivateKeyFile(value);
      if (read.ok) return read.file;
      reject(context, `O365_APP_CERT_KEY_PATH ${read.problem}`);
      return z.NEVER;
    })
    .optional(),
  O365_APP_CERT_KEY_PASSPHRASE: z.string().optional(),
  O365_CLIENT_ASSERTION_ALG: z
    .string()
    .transform((value, context): AssertionAlgorithm => {
      const algorithm = value.toUpperCase();
      if (algorithm === 'PS256' || algorithm === 'RS256') return algorithm;
      reject(context, invalid('O365_CLIENT_ASSERTION_ALG', value, 'use PS256 (what Microsoft documents, the default) or RS256'));
      return z.NEVER;
    })
    .prefault('PS256'),
  O365_CLIENT_ASSERTION_FILE: z.string().optional(),
  // Set by Azure workload identity in every pod that opts in; used only when no other credential is set.
  AZURE_FEDERATED_TOKEN_FILE: z.string().optional(),
  O365_TENANT: z
    .string()
    .refine(
      (value) => TENANT_ALIASES.has(value.toLowerCase()) || isTenantId(value) || DOMAIN.test(value),
      explain((value) =>
        invalid(
          'O365_TENANT',
          value,
          'use common, organizations, consumers, a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com',
        ),
      ),
    )
    .prefault('common'),
  O365_AUTHORITY_HOST: serviceOrigin(
    'O365_AUTHORITY_HOST',
    'use https://login.microsoftonline.com, a national cloud such as https://login.microsoftonline.us, or http://127.0.0.1:<port> for the local provider',
  ).prefault('https://login.microsoftonline.com'),
  O365_SCOPES: z
    .string()
    .transform((value, context) => {
      const scopes = value.split(/\s+/).filter(Boolean);
      if (!scopes.includes('openid')) {
        reject(
          context,
          'O365_SCOPES must include openid: the app needs the ID token to know who signed in ' +
            '(default: "openid profile offline_access User.Read").',
        );
      }
      const badScope = scopes.find((scope) => !SCOPE.test(scope));
      if (badScope !== undefined) {
        reject(
          context,
          `O365_SCOPES has an invalid scope "${badScope}": separate scopes with spaces, e.g. "openid profile offline_access User.Read".`,
        );
      }
      return scopes;
    })
    .prefault('openid profile offline_access User.Read'),
  BASE_URL: origin('BASE_URL', {
    fix: 'use the address people open, such as http://127.0.0.1:5000 or https://signin.example.com, without a trailing path',
    notWeb: 'must start with http:// or https://',
    // Microsoft accepts http redirect URIs only for localhost; anything else must be https.
    notHttps: 'must use https unless it is 127.0.0.1 or localhost (Microsoft refuses other http redirect URIs).',
    notOrigin: 'must not have a path, query or credentials',
  }).prefault('http://127.0.0.1:5000'),
  PORT: integer('PORT', 0, 65535, 'use a port number such as 5000').prefault('5000'),
  HOST: z.string().prefault('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .check((context) => {
      const problem = checkDatabaseUrl(context.value);
      if (problem !== undefined) reject(context, problem);
    })
    .prefault(DEFAULT_DATABASE_URL),
  MIGRATE_ON_START: boolean(
    'MIGRATE_ON_START',
    'use true (apply pending migrations at start, the default) or false (run `npm run migrate` as a release step)',
  ).prefault('true'),
  // Required in production (see configSchema); elsewhere a random one is used with a warning.
  SESSION_SECRET: z
    .string()
    .min(32, `SESSION_SECRET is too short: use at least 32 characters, e.g. the output of ${OPENSSL_KEY}.`)
    .optional(),
  TOKEN_ENCRYPTION_KEY: base64Key(
    `TOKEN_ENCRYPTION_KEY must be 32 random bytes in base64 (44 characters): generate one with ${OPENSSL_KEY}.`,
  ).optional(),
  GRAPH_BASE_URL: serviceOrigin('GRAPH_BASE_URL', "use https://graph.microsoft.com (or the national cloud's Graph)").prefault(
    'https://graph.microsoft.com',
  ),
  O365_HTTP_TIMEOUT_MS: integer('O365_HTTP_TIMEOUT_MS', 100, 120000, 'use milliseconds between 100 and 120000 (default 10000)').prefault(
    '10000',
  ),
  SESSION_IDLE_MINUTES: integer('SESSION_IDLE_MINUTES', 1, 24 * 60, 'use minutes between 1 and 1440 (default 30)').prefault('30'),
  SESSION_MAX_HOURS: integer('SESSION_MAX_HOURS', 1, 24 * 30, 'use hours between 1 and 720 (default 12)').prefault('12'),
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: z
    .string()
    .transform((value, context) => {
      const keys: Buffer[] = [];
      for (const [index, entry] of listOf(value).entries()) {
        const key = decodeBase64Key(entry);
        if (key !== undefined) keys.push(key);
        else
          reject(
            context,
            `TOKEN_ENCRYPTION_KEYS_PREVIOUS entry ${index + 1} is not 32 bytes in base64: ` +
              'list the old TOKEN_ENCRYPTION_KEY values, separated by commas.',
          );
      }
      return keys;
    })
    .prefault(''),
  TRUST_PROXY: z
    .string()
    .transform((value, context): false | number | string => {
      if (value === 'false' || value === '0') return false;
      if (/^\d+$/.test(value) && Number(value) <= 10) return Number(value);
      const entries = value.split(',').map((item) => item.trim());
      if (entries.every(isProxyAddress)) return entries.join(',');
      // "true" would trust any client's X-Forwarded-For, which defeats the rate limit.
      reject(
        context,
        invalid(
          'TRUST_PROXY',
          value,
          "use the number of proxies in front of the app (e.g. 1), loopback, or the proxies' addresses (e.g. 10.0.0.0/8), separated by commas",
        ),
      );
      return z.NEVER;
    })
    .optional(),
  O365_ALLOWED_TENANTS: z
    .string()
    .transform((value, context) => {
      const tenants = listOf(value);
      if (tenants.length === 0 || !tenants.every(isTenantId)) {
        reject(
          context,
          invalid(
            'O365_ALLOWED_TENANTS',
            value,
            'list tenant IDs (GUIDs, Microsoft Entra admin center › Overview › Tenant ID), separated by commas',
          ),
        );
      }
      return tenants.map((tenant) => tenant.toLowerCase());
    })
    .optional(),
  SIGN_IN_RATE_LIMIT: integer(
    'SIGN_IN_RATE_LIMIT',
    1,
    1_000_000,
    'use the number of sign-in requests allowed per minute from one address (default 60)',
  ).prefault('60'),
  INSTANCE_NAME: z
    .string()
    .regex(
      INSTANCE_NAME,
      explain((value) =>
        invalid(
          'INSTANCE_NAME',
          value.slice(0, 40).replace(/[^\x20-\x7e]/g, '?'),
          'use up to 32 letters, digits, spaces, dots, dashes or underscores (e.g. web-1), or leave it empty for a random id',
        ),
      ),
    )
    .prefault(() => crypto.randomBytes(3).toString('hex')),
};

/**
 * Every variable of the app, one field each; an entry point parses what it reads with
 * `parseSettings(settingsSchema.pick({ … }), env)`. The demo's and tests' own variables are in dev/development-settings.ts.
 */
export const settingsSchema = z.object(appVariables);

// zod skips an object's refinements once a field failed; these run anyway, so every problem is reported at once.
const always = () => true;

/** The app's variables with the rules across them: secrets that production requires. */
const configSchema = z
  .object(appVariables)
  .refine((settings) => !isProduction(settings) || settings.SESSION_SECRET !== undefined, {
    path: ['SESSION_SECRET'],
    message: `SESSION_SECRET is missing: set it to a long random string, e.g. the output of ${OPENSSL_KEY}.`,
    when: always,
  })
  .refine((settings) => !isProduction(settings) || settings.TOKEN_ENCRYPTION_KEY !== undefined, {
    path: ['TOKEN_ENCRYPTION_KEY'],
    message: `TOKEN_ENCRYPTION_KEY is missing: set it to 32 random bytes in base64, e.g. the output of ${OPENSSL_KEY}.`,
    when: always,
  })
  .superRefine(
    (settings, context) => {
      const choice = chooseClientCredential(settings);
      for (const problem of choice.ok ? [] : choice.problems)
        context.addIssue({ code: 'custom', path: [problem.setting], message: problem.message });
    },
    { when: always },
  );

type AppSettings = z.output<typeof configSchema>;

/** The app's settings, parsed once from the environment. Nothing else reads process.env. */
export type Config = ReturnType<typeof toConfig>;

export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; problems: string[] };

/**
 * Reads the settings the README lists (Configuration). Every problem is reported at once, one line each,
 * with what to do about it; defaults fill what is optional.
 */
export function parseConfig(env: Environment): ConfigResult {
  const parsed = parseSettings(configSchema, env);
  if (!parsed.ok) return parsed;
  const config = toConfig(parsed.settings);
  return { ok: true, config, warnings: warningsFor(parsed.settings, config.clientCredential) };
}

/** Parses the variables `schema` names: blank values count as unset; every problem is reported, in the schema's order. */
export function parseSettings<Schema extends z.ZodObject>(schema: Schema, env: Environment): SettingsResult<z.output<Schema>> {
  const names = Object.keys(schema.shape);
  const values = Object.fromEntries(names.map((name) => [name, env[name]?.trim() || undefined]));
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, settings: result.data };
  const order = (issue: z.core.$ZodIssue) => names.indexOf(String(issue.path[0]));
  return { ok: false, problems: [...result.error.issues].sort((a, b) => order(a) - order(b)).map((issue) => issue.message) };
}

type CredentialSettings = Pick<
  AppSettings,
  | 'O365_APP_KEY'
  | 'O365_APP_CERT_PATH'
  | 'O365_APP_CERT_KEY_PATH'
  | 'O365_APP_CERT_KEY_PASSPHRASE'
  | 'O365_CLIENT_ASSERTION_ALG'
  | 'O365_CLIENT_ASSERTION_FILE'
  | 'AZURE_FEDERATED_TOKEN_FILE'
>;
type CredentialProblem = { setting: keyof CredentialSettings; message: string };
type CredentialChoice = { ok: true; credential: ClientCredential } | { ok: false; problems: CredentialProblem[] };

// Opening an encrypted key is slow on purpose: the check and toConfig share one result per parse.
const openedCertificates = new WeakMap<PrivateKeyFile, ReturnType<typeof openClientCertificate>>();

/**
 * Exactly one credential: a client secret, a certificate with its key, or a federated token file. AZURE_FEDERATED_TOKEN_FILE,
 * which Azure workload identity sets by itself, counts only when nothing else is set. Runs after failed fields too (their
 * values are then not files), so every problem is reported at once.
 */
function chooseClientCredential(settings: CredentialSettings): CredentialChoice {
  const given = {
    O365_APP_KEY: settings.O365_APP_KEY !== undefined,
    O365_APP_CERT_PATH: settings.O365_APP_CERT_PATH !== undefined || settings.O365_APP_CERT_KEY_PATH !== undefined,
    O365_CLIENT_ASSERTION_FILE: settings.O365_CLIENT_ASSERTION_FILE !== undefined,
  };
  const chosen = (Object.keys(given) as (keyof typeof given)[]).filter((name) => given[name]);
  if (chosen.length > 1) {
    return problem(
      chosen[0] ?? 'O365_APP_KEY',
      `${chosen.join(' and ')} are all set: choose one credential. Keep the certificate (recommended) or the federated token file ` +
        'and leave O365_APP_KEY empty, or keep the client secret and leave the others empty.',
    );
  }
  if (given.O365_APP_CERT_PATH) return chooseCertificate(settings);
  if (given.O365_APP_KEY) {
    return typeof settings.O365_APP_KEY === 'string'
      ? { ok: true, credential: { kind: 'secret', secret: settings.O365_APP_KEY } }
      : { ok: false, problems: [] };
  }
  if (settings.O365_CLIENT_ASSERTION_FILE !== undefined)
    return chooseTokenFile('O365_CLIENT_ASSERTION_FILE', settings.O365_CLIENT_ASSERTION_FILE);
  if (settings.AZURE_FEDERATED_TOKEN_FILE !== undefined)
    return chooseTokenFile('AZURE_FEDERATED_TOKEN_FILE', settings.AZURE_FEDERATED_TOKEN_FILE);
  return problem(
    'O365_APP_KEY',
    `O365_APP_KEY is missing: create a client secret in ${ENTRA_APP} › your app › Certificates & secrets and copy its Value (not its Secret ID). ` +
      'Or, with no secret at all: set O365_APP_CERT_PATH and O365_APP_CERT_KEY_PATH to a certificate (npm run setup -- --certificate makes one), ' +
      'or O365_CLIENT_ASSERTION_FILE to a federated token file.',
  );
}

function chooseCertificate(settings: CredentialSettings): CredentialChoice {
  const certificate = settings.O365_APP_CERT_PATH;
  const key = settings.O365_APP_CERT_KEY_PATH;
  if (certificate === undefined) {
    return problem(
      'O365_APP_CERT_PATH',
      'O365_APP_CERT_PATH is missing: set it to the certificate (PEM) whose private key O365_APP_CERT_KEY_PATH names.',
    );
  }
  if (key === undefined) {
    return problem(
      'O365_APP_CERT_KEY_PATH',
      'O365_APP_CERT_KEY_PATH is missing: set it to the private key (PEM) of the certificate in O365_APP_CERT_PATH.',
    );
  }
  // A file that failed its own check has been reported already.
  if (!isCertificateFile(certificate) || !isPrivateKeyFile(key)) return { ok: false, problems: [] };
  let opened = openedCertificates.get(key);
  if (opened === undefined) {
    opened = openClientCertificate(certificate, key, settings.O365_APP_CERT_KEY_PASSPHRASE);
    openedCertificates.set(key, opened);
  }
  if (!opened.ok) return problem(opened.problem.setting, opened.problem.message);
  return { ok: true, credential: { kind: 'certificate', certificate: opened.credential, algorithm: settings.O365_CLIENT_ASSERTION_ALG } };
}

/** The platform writes and rotates the file; at start it must at least exist (its content is read at each token request). */
function chooseTokenFile(setting: FederatedTokenSetting, tokenFile: string): CredentialChoice {
  try {
    if (!fs.statSync(tokenFile).isFile())
      return problem(setting, `${setting} "${tokenFile}" is not a file: give the path of the token file the platform writes.`);
    fs.accessSync(tokenFile, fs.constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return problem(
      setting,
      code === 'ENOENT'
        ? `${setting} "${tokenFile}" does not exist: give the path of the token file the platform writes (e.g. /var/run/secrets/azure/tokens/azure-identity-token).`
        : `${setting} "${tokenFile}" cannot be read by the user the app runs as (${code ?? 'unknown error'}).`,
    );
  }
  return { ok: true, credential: { kind: 'federated', tokenFile, setting } };
}

function problem(setting: CredentialProblem['setting'], message: string): CredentialChoice {
  return { ok: false, problems: [{ setting, message }] };
}

function isCertificateFile(value: unknown): value is CertificateFile {
  return typeof value === 'object' && value !== null && 'thumbprints' in value && 'certificate' in value;
}

function isPrivateKeyFile(value: unknown): value is PrivateKeyFile {
  return typeof value === 'object' && value !== null && 'pem' in value && 'encrypted' in value;
}

function toConfig(settings: AppSettings) {
  return Object.freeze({
    appId: settings.O365_APP_ID,
    /** How the app authenticates at the token endpoint: a secret, a certificate or a federated token file. */
    clientCredential: clientCredentialOf(settings),
    tenant: settings.O365_TENANT,
    authorityHost: settings.O365_AUTHORITY_HOST,
    scopes: Object.freeze(settings.O365_SCOPES),
    baseUrl: settings.BASE_URL,
    /** Always `${baseUrl}/connect/get_token`: never derived from request headers. */
    redirectUri: redirectUriFor(settings.BASE_URL),
    host: settings.HOST,
    port: settings.PORT,
    /** `file:` → SQLite; `postgresql://` or `postgres://` → PostgreSQL. */
    databaseUrl: settings.DATABASE_URL,
    /** Apply pending migrations when the server starts (MIGRATE_ON_START, default true). */
    migrateOnStart: settings.MIGRATE_ON_START,
    sessionSecret: settings.SESSION_SECRET ?? crypto.randomBytes(32).toString('base64url'),
    tokenEncryptionKey: settings.TOKEN_ENCRYPTION_KEY ?? crypto.randomBytes(32),
    graphBaseUrl: settings.GRAPH_BASE_URL,
    httpTimeoutMs: settings.O365_HTTP_TIMEOUT_MS,
    sessionIdleMinutes: settings.SESSION_IDLE_MINUTES,
    sessionMaxHours: settings.SESSION_MAX_HOURS,
    production: isProduction(settings),
    /** The label in every page's footer: INSTANCE_NAME, or a random id per process; never a host name or address. */
    instanceName: settings.INSTANCE_NAME,
    /** Older TOKEN_ENCRYPTION_KEY values: accepted for decryption only, so keys can rotate. */
    previousTokenEncryptionKeys: Object.freeze(settings.TOKEN_ENCRYPTION_KEYS_PREVIOUS),
    /** Express's `trust proxy`: false, a hop count, or loopback/linklocal/uniquelocal/addresses. */
    trustProxy: settings.TRUST_PROXY ?? false,
    /** Tenant GUIDs (lower case) allowed to sign in; undefined allows every tenant the authority accepts. */
    allowedTenants: settings.O365_ALLOWED_TENANTS === undefined ? undefined : Object.freeze(settings.O365_ALLOWED_TENANTS),
    /** Requests per minute per client address to /connect and to the callback. */
    signInRateLimit: settings.SIGN_IN_RATE_LIMIT,
  });
}

/** The credential the checks accepted (parseConfig reaches toConfig only when they found no problem). */
function clientCredentialOf(settings: AppSettings): ClientCredential {
  const choice = chooseClientCredential(settings);
  if (!choice.ok) throw new Error('client credential checked but not chosen');
  return choice.credential;
}

function warningsFor(settings: AppSettings, credential: ClientCredential): string[] {
  const warnings: string[] = [];
  if (credential.kind === 'certificate') {
    const expiry = certificateExpiryWarning(credential.certificate, Date.now());
    if (expiry !== undefined) warnings.push(expiry);
    if (isPrivateKeyFile(settings.O365_APP_CERT_KEY_PATH)) {
      const mode = privateKeyModeWarning(settings.O365_APP_CERT_KEY_PATH);
      if (mode !== undefined) warnings.push(mode);
    }
  }
  if (
    settings.AZURE_FEDERATED_TOKEN_FILE !== undefined &&
    !(credential.kind === 'federated' && credential.setting === 'AZURE_FEDERATED_TOKEN_FILE')
  ) {
    warnings.push(
      'AZURE_FEDERATED_TOKEN_FILE is set but not used: the app signs in to Microsoft with its ' +
        `${credential.kind === 'federated' ? 'O365_CLIENT_ASSERTION_FILE' : credential.kind}. Leave the other credential settings empty to use it.`,
    );
  }
  if (!isProduction(settings) && settings.SESSION_SECRET === undefined) {
    warnings.push('SESSION_SECRET is not set: using a random one, so sessions end when the app restarts. Set it in .env.');
  }
  if (!isProduction(settings) && settings.TOKEN_ENCRYPTION_KEY === undefined) {
    warnings.push('TOKEN_ENCRYPTION_KEY is not set: using a random one, so stored tokens cannot be read after a restart. Set it in .env.');
  }
  if (settings.TRUST_PROXY === undefined && servesHttps({ baseUrl: settings.BASE_URL })) {
    warnings.push(
      'BASE_URL is https but TRUST_PROXY is not set: the session cookie is Secure, ' +
        'so behind a TLS proxy set TRUST_PROXY (e.g. 1 or loopback) or nobody can sign in.',
    );
  }
  return warnings;
}

function isProduction(settings: { readonly NODE_ENV?: string | undefined }): boolean {
  return settings.NODE_ENV === 'production';
}

/** Adds a problem, worded in full, to the variable being parsed. */
function reject(context: { value: unknown; issues: z.core.$ZodRawIssue[] }, message: string): void {
  context.issues.push({ code: 'custom', input: context.value, message });
}

/** A refinement's message built from the value that failed it. */
function explain(message: (value: string) => string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => message(String(issue.input)) };
}

/** The common wording for a value outside its rule. */
function invalid(name: string, value: string, fix: string): string {
  return `${name} "${value}" is not valid: ${fix}.`;
}

/** A whole number from `min` to `max`, in digits only (also used by dev/development-settings.ts). */
export function integer(name: string, min: number, max: number, fix: string) {
  return z.string().transform((value, context) => {
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isSafeInteger(number) && number >= min && number <= max) return number;
    reject(context, invalid(name, value, fix));
    return z.NEVER;
  });
}

/** true, 1 or yes; false, 0 or no; in any case. */
function boolean(name: string, fix: string) {
  return z.string().transform((value, context) => {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    reject(context, invalid(name, value, fix));
    return z.NEVER;
  });
}

function base64Key(message: string) {
  return z.string().transform((value, context) => {
    const key = decodeBase64Key(value);
    if (key !== undefined) return key;
    reject(context, message);
    return z.NEVER;
  });
}

/** 32 bytes of base64 (or base64url), or undefined. */
function decodeBase64Key(value: string): Buffer | undefined {
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  return key.length === 32 ? key : undefined;
}

function listOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = net.isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

interface OriginWording {
  /** How to write a good value; ends each message but the one for http. */
  readonly fix: string;
  /** For a scheme other than http or https; without it such a URL gets `notHttps`. */
  readonly notWeb?: string;
  /** For plain http on a host other than loopback: the rest of the line, in full. */
  readonly notHttps: string;
  readonly notOrigin: string;
}

/** An http(s) URL with nothing after its origin, read as its origin; plain http only on loopback. */
function origin(name: string, wording: OriginWording) {
  return z.string().transform((value, context) => {
    const problem = originProblem(value, wording);
    if (problem === undefined) return new URL(value).origin;
    reject(context, `${name} "${value}" ${problem}`);
    return z.NEVER;
  });
}

function originProblem(value: string, { fix, notWeb, notHttps, notOrigin }: OriginWording): string | undefined {
  if (!URL.canParse(value)) return `is not a URL: ${fix}.`;
  const url = new URL(value);
  if (notWeb !== undefined && url.protocol !== 'https:' && url.protocol !== 'http:') return `${notWeb}: ${fix}.`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) return notHttps;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    return `${notOrigin}: ${fix}.`;
  return undefined;
}

/** The origin of a service the app calls (the authority, Graph). */
function serviceOrigin(name: string, fix: string) {
  return origin(name, {
    fix,
    notHttps: `must use https (plain http only on 127.0.0.1 or localhost): ${fix}.`,
    notOrigin: 'must be only scheme, host and port, without a path',
  });
}
