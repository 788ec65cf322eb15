import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './log.ts';
import { createDiscovery } from './auth/discovery.ts';
import type { Discovery } from './auth/discovery.ts';
import { createIdTokenVerifier } from './auth/id-token.ts';
import type { IdTokenVerifier } from './auth/id-token.ts';
import { createSigningKeys } from './auth/signing-keys.ts';
import { createTokenCipher } from './tokens/token-cipher.ts';
import { createTokenService } from './tokens/token-service.ts';
import type { TokenService } from './tokens/token-service.ts';
import { createTokenStore } from './tokens/token-store.ts';
import type { TokenStore } from './tokens/token-store.ts';

export interface Services {
  readonly discovery: Discovery;
  readonly verifier: IdTokenVerifier;
  readonly tokenStore: TokenStore;
  readonly tokenService: TokenService;
}

/**
 * Discovery, ID-token checks, the encrypted token store and refresh, wired one way for the web app and
 * for `npm run token`: encrypt with TOKEN_ENCRYPTION_KEY, decrypt with it or any previous key.
 */
export function composeServices(
  config: Config,
  database: Database,
  logger: Logger,
  options: { now?: () => number; discovery?: Discovery } = {},
): Services {
  const now = options.now ?? Date.now;
  const discovery = options.discovery ?? createDiscovery(config, logger, now);
  const tokenStore = createTokenStore(database, createTokenCipher([config.tokenEncryptionKey, ...config.previousTokenEncryptionKeys]));
  const verifier = createIdTokenVerifier(config, createSigningKeys({ timeoutMs: config.httpTimeoutMs, now, logger }));
  const tokenService = createTokenService({ config, discovery, verifier, tokenStore, logger, now });
  return { discovery, verifier, tokenStore, tokenService };
}
