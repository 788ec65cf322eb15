// npm run rotate-key: re-encrypts every stored token under TOKEN_ENCRYPTION_KEY, reading old rows with TOKEN_ENCRYPTION_KEYS_PREVIOUS.
import '../src/load-env.ts';
import { openDatabase } from '../src/db/open-database.ts';
import { DEFAULT_DATABASE_URL } from '../src/db/database-url.ts';
import { decodeBase64Key } from '../src/security/security-settings.ts';
import { createTokenCipher, keyIdOf } from '../src/tokens/token-cipher.ts';
import { reencryptTokens } from '../src/tokens/key-rotation.ts';

const read = (name: string) => process.env[name]?.trim() || undefined;
const current = decodeBase64Key(read('TOKEN_ENCRYPTION_KEY') ?? '');
const previous = (read('TOKEN_ENCRYPTION_KEYS_PREVIOUS') ?? '').split(',').map((value) => value.trim()).filter(Boolean).map(decodeBase64Key);
if (current === undefined) {
  console.error('TOKEN_ENCRYPTION_KEY must be the new key: 32 random bytes in base64 (openssl rand -base64 32).');
  process.exit(1);
}
if (previous.some((key) => key === undefined)) {
  console.error('TOKEN_ENCRYPTION_KEYS_PREVIOUS must list the old keys (32 bytes in base64 each), separated by commas.');
  process.exit(1);
}
const databaseUrl = read('DATABASE_URL') ?? DEFAULT_DATABASE_URL;
const database = openDatabase(databaseUrl);
try {
  const report = await reencryptTokens(database, createTokenCipher([current, ...(previous as Buffer[])]));
  console.log(`Re-encrypted ${report.reencrypted} token set(s) under key ${keyIdOf(current)}; ${report.unreadable} could not be read with any configured key (those users sign in again).`);
  if (report.unreadable === 0) console.log('No row needs the previous keys any more: you may remove TOKEN_ENCRYPTION_KEYS_PREVIOUS.');
} finally {
  await database.$disconnect();
}
