// npm run rotate-key [-- --wait <seconds>]: re-encrypts every stored token under TOKEN_ENCRYPTION_KEY, reading old rows
// with TOKEN_ENCRYPTION_KEYS_PREVIOUS, then erases the old ciphertexts from the database files.
import '../load-env.ts';
import { parseArgs } from 'node:util';
import { parseSettings, settingsSchema } from '../config.ts';
import { isDatabaseError } from '../db/database-errors.ts';
import { openDatabase } from '../db/open-database.ts';
import { errorSummary } from '../log.ts';
import { createTokenCipher, keyIdOf } from '../tokens/token-cipher.ts';
import { DEFAULT_ROTATION_WAIT_MS, RotationBlockedError, reencryptTokens } from '../tokens/key-rotation.ts';

/** Exit codes: 0 done; 1 settings invalid or the database failed; 2 bad options; 3 another program kept the database busy: run again. */
const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;
const MAX_WAIT_SECONDS = 3600;

let waitSeconds = DEFAULT_ROTATION_WAIT_MS / 1000;
try {
  const { values } = parseArgs({ options: { wait: { type: 'string' } }, strict: true, allowPositionals: false });
  if (values.wait !== undefined) {
    if (!/^\d+$/.test(values.wait) || Number(values.wait) > MAX_WAIT_SECONDS)
      throw new Error(`--wait "${values.wait}" is not a number of seconds`);
    waitSeconds = Number(values.wait);
  }
} catch (error) {
  console.error(
    `${(error as Error).message}. Usage: npm run rotate-key [-- --wait <seconds>] (how long to wait for another program using the database, 0 to ${MAX_WAIT_SECONDS}; default ${waitSeconds}).`,
  );
  process.exit(EXIT.usage);
}

const parsed = parseSettings(
  settingsSchema.pick({ TOKEN_ENCRYPTION_KEY: true, TOKEN_ENCRYPTION_KEYS_PREVIOUS: true, DATABASE_URL: true }),
  process.env,
);
if (!parsed.ok) {
  for (const problem of parsed.problems) console.error(problem);
  process.exit(EXIT.failed);
}
const { TOKEN_ENCRYPTION_KEY: current, TOKEN_ENCRYPTION_KEYS_PREVIOUS: previous, DATABASE_URL: databaseUrl } = parsed.settings;
if (current === undefined) {
  console.error('TOKEN_ENCRYPTION_KEY must be the new key: 32 random bytes in base64 (openssl rand -base64 32).');
  process.exit(EXIT.failed);
}
const keyId = keyIdOf(current);
const database = openDatabase(databaseUrl);
let exitCode: number = EXIT.ok;
try {
  const report = await reencryptTokens(database, createTokenCipher([current, ...previous]), {
    waitMs: waitSeconds * 1000,
    onWaiting: () =>
      console.error(
        `Waiting up to ${waitSeconds} s for another program reading the database (a backup, a sqlite3 shell) to finish, so the old ciphertexts can be erased…`,
      ),
  });
  console.log(
    `Re-encrypted ${report.reencrypted} token set(s) under key ${keyId}; ${report.unreadable} could not be read with any configured key (those users sign in again).`,
  );
  const other = report.resourceTokens;
  if (other !== undefined && other.reencrypted + other.unreadable > 0) {
    console.log(
      `Re-encrypted ${other.reencrypted} token(s) for other APIs; ${other.unreadable} could not be read (they are got again when next asked for).`,
    );
  }
  if (report.unreadable === 0 && (other?.unreadable ?? 0) === 0)
    console.log('No row needs the previous keys any more: you may remove TOKEN_ENCRYPTION_KEYS_PREVIOUS.');
} catch (error) {
  if (error instanceof RotationBlockedError) {
    console.error(blockedMessage(error));
    exitCode = EXIT.busy;
  } else if (isDatabaseError(error)) {
    console.error(
      `npm run rotate-key stopped because the database failed (${errorSummary(error)}). Token sets re-encrypted so far stay valid and ` +
        'the others still open with TOKEN_ENCRYPTION_KEYS_PREVIOUS: keep it, and run `npm run rotate-key` again once the database answers.',
    );
    exitCode = EXIT.failed;
  } else {
    throw error;
  }
} finally {
  await database.close();
}
process.exitCode = exitCode;

/** One paragraph: what is done, what is not, why, and what to run. */
function blockedMessage(error: RotationBlockedError): string {
  const { reencrypted, unreadable } = error.report;
  const program = 'another program (a backup, a sqlite3 shell)';
  if (error.stage === 'erase') {
    return (
      `The token sets are re-encrypted under key ${keyId} (${reencrypted} re-encrypted, ${unreadable} unreadable with any configured key), ` +
      `but their old ciphertexts are still in the database files: ${program} kept reading the database for ${waitSeconds} s, so SQLite ` +
      'could not rewrite them. Close that program, then run `npm run rotate-key` again with the same settings to erase them.'
    );
  }
  return (
    `Re-encrypted ${reencrypted} of ${error.total} token set(s) under key ${keyId} before ${program} held the database's write lock ` +
    `for ${waitSeconds} s. The others still open with TOKEN_ENCRYPTION_KEYS_PREVIOUS: keep it, close that program, then run ` +
    '`npm run rotate-key` again with the same settings.'
  );
}
