import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfig, parseSettings, settingsSchema } from '../config.ts';
import type { Environment, SettingsResult } from '../config.ts';
import { isPostgresUrl, redactDatabaseUrl, sqliteFilePath } from '../db/database-url.ts';
import { openStoreDatabase } from '../db/open-store-database.ts';
import type { Logger } from '../log.ts';
import { isRefreshError, refreshProblemOf } from '../tokens/token-service.ts';
import { composeServices } from '../composition-root.ts';
import { echoInput, echoMessage } from './echoed-input.ts';
import type { StoredUser } from '../tokens/token-store.ts';
import { requestedScopesOf } from '../auth/resource-scopes.ts';
import type { ResourceScopes } from '../auth/resource-scopes.ts';
import { scopeProblemError } from '../errors.ts';
import { defaultScopesOf, isResourceTokenError } from '../tokens/resource-token-service.ts';
import { reportResourceRefusal } from './resource-refusal.ts';
import { EXIT } from './exit-codes.ts';

export { EXIT } from './exit-codes.ts';

const HELP = `Usage: npm run -s token [-- --scope "<scopes of one resource>" | --resource <uri>] [--user <username or object id>] [--json] [--demo]

Prints a valid access token for a stored user on stdout and nothing else, refreshing it first
when it has expired or expires within five minutes. Without --scope or --resource: the token of
the sign-in (O365_SCOPES). Examples:

  curl -H "Authorization: Bearer $(npm run -s token)" https://graph.microsoft.com/v1.0/me
  npm run -s token -- --resource https://management.azure.com/
  npm run -s token -- --scope "https://outlook.office.com/IMAP.AccessAsUser.All"

  --scope <list>   a token for these scopes of one resource (e.g. "api://<app id>/Read", "User.Read Mail.Read");
                   from the same sign-in, cached per resource and scopes until it expires
  --resource <uri> a token for the resource's .default scope (<uri>/.default), as az account get-access-token
  --user <who>     the user, by username (e.g. adele@contoso.com) or object id, when several are stored
  --json           print JSON: accessToken, tokenType, resource, scopes, expiresOn, expiresAt, refreshed, user
  --demo           use the database and settings of npm run demo (while it runs: its address, provider and database)

Exit codes: 0 token printed; 2 bad options, or scopes of more than one resource (nothing asked);
3 no stored token; 4 several users and no --user; 5 the token cannot be refreshed: sign in again;
6 database missing; 7 settings invalid; 8 Microsoft unavailable, try again; 9 consent or an
interactive sign-in needed for this resource (AADSTS65001 prints an admin-consent link);
10 Microsoft refused these scopes (e.g. AADSTS70011, or a personal account for a work-only API).`;

/** The command prints what a user needs itself; with no log lines to write, pino is never loaded. */
const SILENT: Logger = { info() {}, warn() {}, error() {} };

/** A token as the command prints it. */
interface PrintedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly resource: string | undefined;
  readonly scopes: readonly string[];
  readonly expiresAt: Date;
  readonly refreshed: boolean;
  readonly needsSignIn: boolean;
}

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the command and returns its exit code; never throws for anything a user can cause. */
export async function runTokenCommand(
  argv: string[],
  env: Environment,
  io: CommandIo,
  demoEnvironment?: (env: Environment) => SettingsResult<Environment> | undefined,
): Promise<number> {
  let options: { user?: string; json?: boolean; demo?: boolean; help?: boolean; scope?: string; resource?: string };
  try {
    ({ values: options } = parseArgs({
      args: argv,
      options: {
        user: { type: 'string' },
        json: { type: 'boolean' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        scope: { type: 'string' },
        resource: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`${echoMessage((error as Error).message)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (options.help) {
    io.stdout(`${HELP}\n`);
    return EXIT.ok;
  }
  // One resource per request: a list that spans two is refused here, before any settings, database or request.
  let request: ResourceScopes | undefined;
  if (options.scope !== undefined || options.resource !== undefined) {
    if (options.scope !== undefined && options.resource !== undefined) {
      io.stderr(`Give --scope or --resource, not both.\n\n${HELP}\n`);
      return EXIT.usage;
    }
    const parse = requestedScopesOf(options.scope, options.resource);
    if (!parse.ok) {
      const error = scopeProblemError(parse);
      io.stderr(`${echoMessage(error.message)}\n${error.fix}\n`);
      return EXIT.usage;
    }
    request = parse.value;
  }

  const demo = options.demo && demoEnvironment ? demoEnvironment(env) : { ok: true as const, settings: env };
  if (demo === undefined) {
    io.stderr('The demo has no data yet: start it with npm run demo and sign in first.\n');
    return EXIT.databaseMissing;
  }
  if (!demo.ok) return reportBadSettings(demo.problems, io);
  const environment = demo.settings;
  const parsed = parseConfig(environment);
  if (!parsed.ok) return reportBadSettings(parsed.problems, io);
  const { config } = parsed;
  const signInUrl = `${config.baseUrl}/`;
  const where = isPostgresUrl(config.databaseUrl) ? redactDatabaseUrl(config.databaseUrl) : sqliteFilePath(config.databaseUrl);
  if (!isPostgresUrl(config.databaseUrl) && !fs.existsSync(sqliteFilePath(config.databaseUrl))) {
    io.stderr(
      `No database at ${sqliteFilePath(config.databaseUrl)}: start the app (npm start${options.demo ? ' or npm run demo' : ''}) ` +
        `and sign in at ${signInUrl} first.\n`,
    );
    return EXIT.databaseMissing;
  }
  if (!config.production && !tokenEncryptionKeyIsSet(environment)) {
    io.stderr('TOKEN_ENCRYPTION_KEY is not set, so stored tokens cannot be decrypted: set the key the app runs with (see .env.example).\n');
    return EXIT.badConfiguration;
  }

  const database = await openStoreDatabase(config.databaseUrl);
  try {
    const { tokenStore, tokenService, resourceTokenService } = composeServices(config, database, SILENT);
    let users: StoredUser[];
    try {
      users = await tokenStore.listUsers();
    } catch {
      io.stderr(
        `The database at ${where} is unreachable or has no tables yet: start the app once (it applies the migrations) and sign in at ${signInUrl}.\n`,
      );
      return EXIT.databaseMissing;
    }
    const user = chooseUser(users, options.user);
    if (user === 'none') {
      io.stderr(`No token is stored${options.user ? ` for "${echoInput(options.user)}"` : ''}: sign in at ${signInUrl} first.\n`);
      return EXIT.noStoredToken;
    }
    if (user === 'several') {
      io.stderr(`Several users are stored; choose one with --user:\n${users.map(describeStoredUser).join('\n')}\n`);
      return EXIT.severalUsers;
    }

    let token: PrintedToken;
    try {
      if (request === undefined) {
        const { tokens, refreshed } = await tokenService.getFreshTokens(user.id);
        token = Object.assign({}, tokens, { resource: defaultScopesOf(config.scopes)?.resource, refreshed });
      } else {
        token = await resourceTokenService.getResourceToken(user.id, request);
      }
    } catch (error) {
      if (isResourceTokenError(error) && request !== undefined) {
        // Awaited here: the database stays open (finally) until the refusal has recorded its admin-consent link.
        return await reportResourceRefusal(error, { config, database: database.sql, user, request, io, signInUrl });
      }
      if (!isRefreshError(error)) throw error;
      const problem = refreshProblemOf(error);
      if (problem === 'unavailable') {
        io.stderr(`${error.message}${error.details.aadsts ? ` (AADSTS${error.details.aadsts})` : ''}\n`);
        return EXIT.microsoftUnavailable;
      }
      if (problem === 'no_tokens') {
        io.stderr(
          `The stored token for ${user.username} cannot be read (it was removed, or TOKEN_ENCRYPTION_KEY changed): sign in again at ${signInUrl}.\n`,
        );
        return EXIT.signInAgain;
      }
      io.stderr(`${error.message} Sign in again at ${signInUrl}.\n`);
      return EXIT.signInAgain;
    }
    io.stdout(options.json ? `${JSON.stringify(jsonOf(token, user), null, 2)}\n` : `${token.accessToken}\n`);
    if (token.needsSignIn) {
      io.stderr(
        `Microsoft no longer accepts the stored refresh token, so this access token works only until ${token.expiresAt.toISOString()}. ` +
          `Sign in again at ${signInUrl} after that.\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await database.close();
  }
}

/** --json: the token with its resource, scopes and expiry (expiresOn, as the Azure CLI names it), and whose it is. */
function jsonOf(token: PrintedToken, user: StoredUser) {
  return {
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    resource: token.resource,
    scopes: token.scopes,
    expiresOn: token.expiresAt.toISOString(),
    expiresAt: token.expiresAt.toISOString(),
    refreshed: token.refreshed,
    user: { displayName: user.displayName, username: user.username, tenantId: user.tenantId, objectId: user.objectId },
  };
}

function reportBadSettings(problems: string[], io: CommandIo): number {
  io.stderr(`The settings are not valid (see .env.example):\n${problems.map((problem) => `  - ${echoMessage(problem)}`).join('\n')}\n`);
  return EXIT.badConfiguration;
}

// Without it the app uses a random key, which cannot open the tokens the server stored.
function tokenEncryptionKeyIsSet(environment: Environment): boolean {
  const parsed = parseSettings(settingsSchema.pick({ TOKEN_ENCRYPTION_KEY: true }), environment);
  return parsed.ok && parsed.settings.TOKEN_ENCRYPTION_KEY !== undefined;
}

/** One line of the --user choice: the username (or object id), then the name and object id. */
function describeStoredUser(user: StoredUser): string {
  return `  ${user.username || user.objectId}  (${user.displayName}, object id ${user.objectId})`;
}

function chooseUser(users: StoredUser[], wanted: string | undefined): StoredUser | 'none' | 'several' {
  if (wanted === undefined) {
    const [only, ...others] = users;
    if (only === undefined) return 'none';
    return others.length === 0 ? only : 'several';
  }
  const key = wanted.trim().toLowerCase();
  return users.find((user) => user.username.toLowerCase() === key || user.objectId.toLowerCase() === key) ?? 'none';
}
