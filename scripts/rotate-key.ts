// npm run rotate-key: re-encrypts every stored token under TOKEN_ENCRYPTION_KEY, reading old rows with TOKEN_ENCRYPTION_KEYS_PREVIOUS.
import '../src/load-env.ts';
import { parseSettings, settingsSchema } from '../src/config.ts';
import { openDatabase } from '../src/db/open-database.ts';
import { createTokenCipher, keyIdOf } from '../src/tokens/token-cipher.ts';
import { reencryptTokens } from '../src/tokens/key-rotation.ts';

const parsed = parseSettings(
  settingsSchema.pick({ TOKEN_ENCRYPTION_KEY: true, TOKEN_ENCRYPTION_KEYS_PREVIOUS: true, DATABASE_URL: true }),
  process.env,
);
if (!parsed.ok) {
  for (const problem of parsed.problems) console.error(problem);
  process.exit(1);
}
const { TOKEN_ENCRYPTION_KEY: current, TOKEN_ENCRYPTION_KEYS_PREVIOUS: previous, DATABASE_URL: databaseUrl } = parsed.settings;
if (current === undefined) {
  console.error('TOKEN_ENCRYPTION_KEY must be the new key: 32 random bytes in base64 (openssl rand -base64 32).');
  process.exit(1);
}
const database = openDatabase(databaseUrl);
try {
  const report = await reencryptTokens(database, createTokenCipher([current, ...previous]));
  console.log(
    `Re-encrypted ${report.reencrypted} token set(s) under key ${keyIdOf(current)}; ${report.unreadable} could not be read with any configured key (those users sign in again).`,
  );
  if (report.unreadable === 0) console.log('No row needs the previous keys any more: you may remove TOKEN_ENCRYPTION_KEYS_PREVIOUS.');
} finally {
  await database.$disconnect();
}
