import type { Config } from './config.ts';
import type { StoreDatabase } from './db/database.ts';
import type { Logger } from './log.ts';
import { createDiscovery } from './auth/discovery.ts';
import type { Discovery } from './auth/discovery.ts';
import { createIdTokenVerifier } from './auth/id-token.ts';
import type { IdTokenVerifier } from './auth/id-token.ts';
import { createSigningKeys } from './auth/signing-keys.ts';
import { createResourceTokenService } from './tokens/resource-token-service.ts';
import type { ResourceTokenService } from './tokens/resource-token-service.ts';
import { createResourceTokenStore } from './tokens/resource-token-store.ts';
import type { ResourceTokenStore } from './tokens/resource-token-store.ts';
import { createTokenCipher, rememberOpenedTokens } from './tokens/token-cipher.ts';
import type { TokenCipher } from './tokens/token-cipher.ts';
import { createTokenService } from './tokens/token-service.ts';
import type { TokenService } from './tokens/token-service.ts';
import { createTokenStore } from './tokens/token-store.ts';
import type { TokenStore } from './tokens/token-store.ts';
import { createUserRedemptions } from './tokens/user-redemptions.ts';

export interface Services {
  /** Encrypts with TOKEN_ENCRYPTION_KEY, decrypts with it or any previous key: for every read of stored tokens. */
  readonly cipher: TokenCipher;
  readonly discovery: Discovery;
  readonly verifier: IdTokenVerifier;
  readonly tokenStore: TokenStore;
  readonly tokenService: TokenService;
  readonly resourceTokenStore: ResourceTokenStore;
  /** Tokens for other resources than the default, from the same refresh token. */
  readonly resourceTokenService: ResourceTokenService;
}

/**
 * Discovery, ID-token checks, the encrypted token stores and refresh (the default token and other resources'), wired
 * one way for the web app and for `npm run token`: encrypt with TOKEN_ENCRYPTION_KEY, decrypt with it or any previous key.
 */
export function composeServices(
  config: Config,
  database: StoreDatabase,
  logger: Logger,
  options: { now?: () => number; discovery?: Discovery } = {},
): Services {
  const now = options.now ?? Date.now;
  const discovery = options.discovery ?? createDiscovery(config, logger, now);
  // Shared by the stores and the signed-in read: a page opens without decrypting what a sign-in or refresh just sealed.
  const cipher = rememberOpenedTokens(createTokenCipher([config.tokenEncryptionKey, ...config.previousTokenEncryptionKeys]));
  const tokenStore = createTokenStore(database.sql, cipher, { eraseDeletedData: () => database.eraseDeletedData() });
  const resourceTokenStore = createResourceTokenStore(database.sql, cipher);
  const verifier = createIdTokenVerifier(config, createSigningKeys({ timeoutMs: config.httpTimeoutMs, now, logger }));
  // One refresh token per user serves every resource: both services redeem it one at a time per user.
  const redemptions = createUserRedemptions();
  const tokenService = createTokenService({ config, discovery, verifier, tokenStore, logger, now, redemptions });
  const resourceTokenService = createResourceTokenService({
    config,
    discovery,
    verifier,
    tokenStore,
    resourceTokenStore,
    tokenService,
    redemptions,
    logger,
    now,
  });
  return { cipher, discovery, verifier, tokenStore, tokenService, resourceTokenStore, resourceTokenService };
}
