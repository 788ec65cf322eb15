import type { AuthorizationCode } from 'simple-oauth2';
import type { Config } from '../config.ts';
import { AppError, providerDetails } from '../errors.ts';
import { isBearerToken } from './bearer-token.ts';
import type { PendingSignIn } from './pending-sign-ins.ts';
import type { ProviderMetadata } from './discovery.ts';
import { codeChallengeOf } from './pending-sign-ins.ts';
import { authenticateTokenRequest, JWT_BEARER_ASSERTION_TYPE } from './client-assertion.ts';
import { createTokenEndpointAgents } from './token-endpoint-agents.ts';
import type { TokenEndpointAgents } from './token-endpoint-agents.ts';

/** The fields of a token response the app relies on, checked. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  readonly tokenType: 'Bearer';
  readonly scopes: readonly string[];
  /** Seconds, 1 to MAX_EXPIRES_IN_SECONDS; Microsoft always sends it, a missing one is taken as one hour. */
  readonly expiresIn: number;
}

/** Microsoft issues access tokens for 60 to 90 minutes; anything beyond a day is not a lifetime it gives. */
export const MAX_EXPIRES_IN_SECONDS = 24 * 60 * 60;
const DEFAULT_EXPIRES_IN_SECONDS = 3600;

/** A refresh response: Microsoft may or may not send a new ID token and a new (rotated) refresh token. */
export interface RefreshResponse extends Omit<TokenResponse, 'accessToken' | 'idToken'> {
  /** undefined when the answer had no usable access token (missing, or not an RFC 6750 bearer token). */
  readonly accessToken: string | undefined;
  readonly idToken: string | undefined;
  /** The answer's expires_in was absurd (not a number, ≤ 0, over a day) and one hour was assumed instead. */
  readonly expiresInReplaced: boolean;
}

const clientsByMetadata = new WeakMap<ProviderMetadata, AuthorizationCode>();

/** Shared by every token-endpoint client of the process, including those made for one request (an assertion). */
let sharedAgents: Promise<TokenEndpointAgents> | undefined;
const tokenEndpointAgents = (): Promise<TokenEndpointAgents> => {
  sharedAgents ??= createTokenEndpointAgents();
  return sharedAgents;
};

/** A simple-oauth2 client for one token request, and the parameters its credential adds to the body. */
interface TokenRequestClient {
  readonly client: AuthorizationCode;
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * The simple-oauth2 client for the token endpoint, no redirects followed, a timeout. A secret goes in the body
 * (client_secret_post). A client assertion replaces it: simple-oauth2 always writes `client.secret` under
 * `client.secretParamName` (an empty secret would still post `client_secret=`), so the assertion takes that place as
 * `client_assertion` in a client made for this one request, and no client_secret is sent at all.
 */
async function tokenRequestClientFor(config: Config, metadata: ProviderMetadata): Promise<TokenRequestClient> {
  const authentication = await authenticateTokenRequest(config.clientCredential, {
    clientId: config.appId,
    tokenEndpoint: metadata.tokenEndpoint,
  });
  if (authentication.kind === 'secret') {
    let client = clientsByMetadata.get(metadata);
    if (client === undefined) {
      client = await createClient(config, metadata, { id: config.appId, secret: authentication.secret });
      clientsByMetadata.set(metadata, client);
    }
    return { client, parameters: {} };
  }
  const client = await createClient(config, metadata, {
    id: config.appId,
    secret: authentication.assertion,
    secretParamName: 'client_assertion',
  });
  return { client, parameters: { client_assertion_type: JWT_BEARER_ASSERTION_TYPE } };
}

async function createClient(
  config: Config,
  metadata: ProviderMetadata,
  client: { id: string; secret: string; secretParamName?: string },
): Promise<AuthorizationCode> {
  // Loaded by the first token request: simple-oauth2 and joi cost a tenth of the start, and nothing before needs them.
  const { AuthorizationCode } = await import('simple-oauth2');
  const tokenUrl = new URL(metadata.tokenEndpoint);
  return new AuthorizationCode({
    client,
    auth: {
      tokenHost: tokenUrl.origin,
      tokenPath: tokenUrl.pathname,
    },
    // Microsoft documents client_secret_post for the v2.0 token endpoint; an assertion goes in the body as well.
    options: { authorizationMethod: 'body', bodyFormat: 'form' },
    http: { timeout: config.httpTimeoutMs, redirects: false, agents: await tokenEndpointAgents() } as never,
  });
}

/**
 * The authorization request: code flow, query response mode, PKCE S256, state and nonce. A sign-in for another
 * resource (`signIn.incremental`) asks for exactly that resource's scopes with the OIDC ones, names the signed-in user
 * (`login_hint`) and passes a claims challenge on as Microsoft documents (learn.microsoft.com/entra/identity-platform/claims-challenge).
 */
export function buildAuthorizationUrl(
  config: Config,
  metadata: ProviderMetadata,
  signIn: PendingSignIn,
  options: { loginHint?: string | undefined } = {},
): string {
  const parameters: Record<string, string> = {
    response_type: 'code',
    client_id: config.appId,
    redirect_uri: config.redirectUri,
    scope: scopesOf(config, signIn).join(' '),
    state: signIn.state,
    nonce: signIn.nonce,
    code_challenge: codeChallengeOf(signIn.codeVerifier),
    code_challenge_method: 'S256',
    response_mode: 'query',
  };
  if (options.loginHint !== undefined) parameters.login_hint = options.loginHint;
  if (signIn.incremental?.claims !== undefined) parameters.claims = signIn.incremental.claims;
  // RFC 6749 §3.1: a query the endpoint already has is kept.
  const url = new URL(metadata.authorizationEndpoint);
  const query = new URLSearchParams(url.search);
  for (const [name, value] of Object.entries(parameters)) query.set(name, value);
  // One assignment: url.searchParams.set writes the URL's whole query again on every call.
  url.search = query.toString();
  return url.href;
}

/** The OIDC scopes a sign-in for another resource adds to that resource's scopes: an ID token and a refresh token. */
export const SIGN_IN_SCOPES: readonly string[] = ['openid', 'profile', 'offline_access'];

/** What a sign-in asks for: the configured scopes, or one resource's scopes with the OIDC ones. */
export function scopesOf(config: Config, signIn: Pick<PendingSignIn, 'incremental'>): readonly string[] {
  return signIn.incremental === undefined ? config.scopes : [...SIGN_IN_SCOPES, ...signIn.incremental.scopes];
}

/** Redeems the authorization code with its PKCE verifier; maps every failure to an AppError. */
export async function exchangeCode(
  config: Config,
  metadata: ProviderMetadata,
  request: { code: string; codeVerifier: string; scopes?: readonly string[] },
): Promise<TokenResponse> {
  // A credential that cannot be used (a federated token file gone) fails here, before anything is posted.
  const { client, parameters } = await tokenRequestClientFor(config, metadata);
  let body: unknown;
  try {
    const token = await client.getToken({
      code: request.code,
      redirect_uri: config.redirectUri,
      // Microsoft's extension: the code is redeemed for the scopes of one resource (and OIDC scopes).
      scope: (request.scopes ?? config.scopes).join(' '),
      code_verifier: request.codeVerifier,
      ...parameters,
    } as Parameters<AuthorizationCode['getToken']>[0]);
    body = token.token;
  } catch (error) {
    throw tokenEndpointError(error);
  }
  // A sign-in loses nothing by refusing an absurd lifetime or an unusable access token: the person simply signs in again.
  const { accessToken, refreshToken, idToken, tokenType, scopes, expiresIn } = readTokenResponse(body, { absurdExpiresIn: 'refuse' });
  if (accessToken === undefined) throw unusableResponse(UNUSABLE_ACCESS_TOKEN);
  if (idToken === undefined) throw unusableResponse("missing or invalid 'id_token'");
  return { accessToken, refreshToken, idToken, tokenType, scopes, expiresIn };
}

/**
 * Redeems a refresh token (grant_type=refresh_token) for `scopes` (default: the configured ones). Microsoft's refresh
 * tokens are not bound to one resource: scopes of another resource give a token for it (`aud` = that resource) as far
 * as the app has consent. Failures are AppErrors as for the code exchange: `code_rejected` is invalid_grant (the refresh
 * token revoked or expired, or, with a `suberror`, consent or an interactive sign-in missing for these scopes).
 */
export async function redeemRefreshToken(
  config: Config,
  metadata: ProviderMetadata,
  refreshToken: string,
  scopes: readonly string[] = config.scopes,
): Promise<RefreshResponse> {
  const { client, parameters } = await tokenRequestClientFor(config, metadata);
  let body: unknown;
  try {
    const token = await client.createToken({ refresh_token: refreshToken }).refresh({ scope: scopes.join(' '), ...parameters });
    body = token.token;
  } catch (error) {
    throw tokenEndpointError(error);
  }
  // S55: the answer may carry the only live refresh token. Microsoft does not revoke the one just spent
  // (learn.microsoft.com/entra/identity-platform/refresh-tokens), but a provider that does leaves the rotated one the
  // only one, and refusing the whole answer would then cost a sign-in. So the answer is kept, an hour assumed for an
  // absurd lifetime, and only an unusable access token is dropped (never stored, shown or pasted); the caller keeps
  // the previous access token and reports the refresh as failed.
  return readTokenResponse(body, { absurdExpiresIn: 'assume-an-hour' });
}

const UNUSABLE_ACCESS_TOKEN = "'access_token' is missing or not an RFC 6750 bearer token";

function unusableResponse(what: string): AppError {
  return new AppError('token_response_unusable', { cause: new Error(`Token response: ${what}`) });
}

/**
 * Reads a token response defensively: the provider's JSON is untrusted input. An `expires_in` that is not a
 * number from 1 to MAX_EXPIRES_IN_SECONDS is refused, or with `assume-an-hour` replaced by one hour. An access
 * token that is missing or not an RFC 6750 bearer token is returned as undefined: never stored, shown or pasted.
 */
export function readTokenResponse(body: unknown, options: { absurdExpiresIn: 'refuse' | 'assume-an-hour' }): RefreshResponse {
  if (typeof body !== 'object' || body === null) throw unusableResponse('not a JSON object');
  const fields = body as Record<string, unknown>;
  // A quote, a space or markup in a "token" would end up in the page, the Copy-as-curl line and scripts' shells.
  const accessToken = typeof fields.access_token === 'string' && isBearerToken(fields.access_token) ? fields.access_token : undefined;
  if (typeof fields.token_type !== 'string' || fields.token_type.toLowerCase() !== 'bearer')
    throw unusableResponse("'token_type' is not Bearer");
  const idToken = fields.id_token;
  if (idToken !== undefined && (typeof idToken !== 'string' || idToken === '')) throw unusableResponse("invalid 'id_token'");
  const refreshToken = fields.refresh_token;
  if (refreshToken !== undefined && typeof refreshToken !== 'string') throw unusableResponse("invalid 'refresh_token'");
  let expiresIn = fields.expires_in === undefined ? DEFAULT_EXPIRES_IN_SECONDS : lifetimeOf(fields.expires_in);
  const expiresInReplaced = expiresIn === undefined;
  if (expiresIn === undefined) {
    if (options.absurdExpiresIn === 'refuse') throw unusableResponse("'expires_in' is not a number of seconds from 1 to a day");
    expiresIn = DEFAULT_EXPIRES_IN_SECONDS;
  }
  const scope = typeof fields.scope === 'string' ? fields.scope : '';
  return {
    accessToken,
    refreshToken: refreshToken || undefined,
    idToken,
    tokenType: 'Bearer',
    scopes: scope.split(' ').filter(Boolean),
    expiresIn,
    expiresInReplaced,
  };
}

/** Seconds as a JSON number or numeric string (some providers quote it), or undefined when absurd. */
function lifetimeOf(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 1 && seconds <= MAX_EXPIRES_IN_SECONDS ? Math.floor(seconds) : undefined;
}

interface BoomLike {
  isBoom?: boolean;
  output?: { statusCode?: number };
  data?: { payload?: unknown };
}

/** Microsoft's token errors are JSON with error, error_description, error_codes, trace_id, correlation_id. */
export function tokenEndpointError(error: unknown): AppError {
  const boom = error as BoomLike;
  let payload = boom?.data?.payload;
  if (Buffer.isBuffer(payload)) {
    try {
      payload = JSON.parse(payload.toString('utf8'));
    } catch {
      payload = undefined;
    }
  }
  const fields = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  if (typeof fields.error !== 'string') {
    return new AppError(boom?.output?.statusCode === 504 ? 'token_service_timed_out' : 'token_service_unreachable', { cause: error });
  }
  const details = providerDetails(fields);
  switch (fields.error) {
    case 'invalid_grant':
      return new AppError('code_rejected', { details, cause: error });
    case 'invalid_client':
    case 'unauthorized_client':
      return new AppError('client_misconfigured', { details, cause: error });
    case 'temporarily_unavailable':
    case 'server_error':
      return new AppError('token_service_unavailable', { details, cause: error });
    default:
      return new AppError('token_request_refused', { details, cause: error });
  }
}
