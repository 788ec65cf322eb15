// Development only: shared types of the local Microsoft-compatible identity provider.

/** A client application registered at the local provider (the equivalent of an Entra ID app registration). */
export interface IdpClient {
  clientId: string;
  /** A client secret (Entra: passwordCredentials). An app may have none, and use a certificate or a federated credential. */
  clientSecret?: string;
  /** PEM certificates registered on the app (Entra: keyCredentials): client assertions signed with their keys are accepted. */
  certificates?: string[];
  /** Federated identity credentials: a token from `issuer` for `subject` with one of `audiences` is accepted as the client assertion. */
  federatedCredentials?: FederatedCredential[];
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

/** An Entra federated identity credential: the issuer's keys are found through its OpenID discovery document. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  /** Microsoft requires exactly ["api://AzureADTokenExchange"]. */
  audiences: string[];
}

/**
 * A resource (API) besides Microsoft Graph whose tokens the local provider issues, like an Entra ID
 * resource service principal: its identifier (the part before the permission name in a scope), its
 * delegated permissions and how consent for them is given.
 */
export interface IdpResource {
  /** e.g. 'https://outlook.office.com', 'https://management.azure.com', 'api://<guid>'; the `aud` of its tokens. */
  identifier: string;
  /** Delegated permission names, e.g. ['Mail.Read', 'SMTP.Send'] or ['user_impersonation']. */
  scopes: string[];
  /** 'tenant': consented for every account of the home tenant (as if an admin had granted it); 'none': only after an interactive sign-in or admin consent. */
  consent: 'tenant' | 'none';
  /** Personal (consumers-tenant) accounts are refused, as Microsoft refuses them (AADSTS70011 "… does not exist."). */
  workAccountsOnly?: boolean;
  /** A refresh for it answers Microsoft's claims challenge (AADSTS50076) until a sign-in passes that claims value on /authorize. */
  requiresMfa?: boolean;
  displayName?: string;
}

/** An admin consent approved at `/{tenant}/v2.0/adminconsent`. */
export interface AdminConsentRecord {
  /** The home tenant GUID (whatever tenant segment the request used). */
  tenant: string;
  clientId: string;
  /** The `scope` parameter as sent. */
  scope: string;
}

/** A user of the local provider: the home tenant's accounts, then a personal Microsoft account (consumers tenant). */
export interface TestAccount {
  username: string;
  password: string;
  displayName: string;
  objectId: string;
  tenantId: string;
  givenName: string;
  surname: string;
  jobTitle: string;
}

/** A failure the local provider can be told to produce, see {@link StartedIdp.setFault}. */
export type IdpFault =
  // Token endpoint: the whole response is replaced (the code is not redeemed).
  | 'token-invalid-client' // 401 invalid_client, AADSTS7000215, error_codes [7000215]
  | 'token-client-secret-expired' // 401 invalid_client, AADSTS7000222
  | 'token-invalid-grant' // 400 invalid_grant, AADSTS54005 (code already redeemed)
  | 'token-code-expired' // 400 invalid_grant, AADSTS70008
  | 'token-server-error' // 500 with Microsoft-shaped JSON (error: 'server_error')
  | 'token-service-unavailable' // 503 with an HTML body
  | 'token-temporarily-unavailable' // 503 JSON error 'temporarily_unavailable'
  | 'token-throttled' // 429 with Retry-After
  | 'token-html' // 200 with an HTML body
  | 'token-truncated-json' // 200 with JSON cut off in the middle
  | 'token-redirect' // 307 back to the token endpoint (a client that follows posts the code again)
  | 'token-hang' // never answers
  // Token endpoint: the genuine response, altered.
  | 'response-no-access-token'
  | 'response-no-id-token'
  | 'response-token-type-mac' // token_type 'MAC'
  | 'response-no-expires-in'
  | 'response-expires-in-absurd' // expires_in "1e20": a number, but no lifetime a token can have
  | 'response-expires-in-number-0' // expires_in and ext_expires_in the JSON number 0
  | 'response-expires-in-number-minus-1' // the JSON number -1
  | 'response-expires-in-number-86401' // the JSON number 86401: a second over a day
  | 'response-expires-in-number-1e20' // the JSON number 1e20 (not the string "1e20")
  | 'response-opaque-access-token' // an opaque access token, as personal accounts get
  | 'response-markup-access-token' // an access token with HTML metacharacters (not an RFC 6750 token)
  | 'response-quote-access-token' // an access token with a single quote and shell syntax (not an RFC 6750 token)
  // The id_token of a genuine response, altered.
  | 'id-token-wrong-nonce'
  | 'id-token-no-nonce'
  | 'id-token-replayed' // the id_token of the previous sign-in
  | 'id-token-wrong-audience'
  | 'id-token-no-audience'
  | 'id-token-extra-audience' // aud [client, another]
  | 'id-token-wrong-azp'
  | 'id-token-expired' // exp and iat an hour or more in the past
  | 'id-token-expired-recent-iat' // exp 5½ minutes past (beyond a 5-minute skew), iat and nbf 7 minutes ago: only exp is wrong
  | 'id-token-iat-in-future' // iat an hour ahead, nbf now, exp two hours ahead: only iat is wrong
  | 'id-token-no-exp'
  | 'id-token-not-yet-valid' // nbf an hour ahead
  | 'id-token-no-iat'
  | 'id-token-week-old' // iat a week ago, exp still ahead
  | 'id-token-wrong-issuer' // iss of another tenant on the same origin
  | 'id-token-v1-issuer' // https://sts.windows.net/{tid}/
  | 'id-token-other-cloud-issuer' // https://login.microsoftonline.us/{tid}/v2.0
  | 'id-token-template-issuer' // the literal {tenantid} template
  | 'id-token-non-guid-tid' // tid 'common' with a matching iss
  | 'id-token-other-tenant' // the same oid in another tenant, iss and tid consistent (a genuine guest sign-in)
  | 'id-token-new-username' // same tid and oid, another username and email
  | 'id-token-no-sub'
  | 'id-token-bad-signature' // signature bytes altered
  | 'id-token-unknown-key' // signed with a key whose kid is NOT in the JWKS
  | 'id-token-alg-none' // header alg none, empty signature
  | 'id-token-hs256-client-secret' // HS256 keyed with the client secret
  | 'id-token-jku-header' // signed with an unpublished key named by a jku URL
  | 'id-token-x5u-header' // signed with an unpublished key named by an x5u URL
  | 'id-token-jwk-header' // signed with an unpublished key embedded as jwk
  | 'id-token-alg-none-known-kid' // alg none, empty signature, the kid of the published key
  | 'id-token-hs256-known-kid' // HS256 keyed with the client secret, the kid of the published key
  | 'id-token-jku-header-known-key' // signed with the published key and kid; the header also names a jku URL
  | 'id-token-x5u-header-known-key' // signed with the published key and kid; the header also names an x5u URL
  | 'id-token-jwk-header-known-key' // signed with the published key and kid; the header also embeds it as jwk
  | 'id-token-other-user' // the oid, sub and names of another account of the same tenant
  | 'id-token-markup-name' // a genuine ID token whose name holds HTML metacharacters (Entra ID display names may)
  // The key set (JWKS) and discovery.
  | 'keys-error' // JWKS answers 500
  | 'keys-hang' // JWKS never answers
  | 'keys-empty' // {"keys":[]}
  | 'keys-garbage-beside-good' // unparseable and foreign keys next to the real one
  | 'keys-rolled' // the JWKS publishes a new key instead of the old one, and ID tokens are signed with it
  | 'keys-fixed-tenant-issuer' // ID tokens signed with a published key whose JWKS issuer names another tenant
  | 'keys-home-tenant-issuer' // ID tokens signed with a published key whose JWKS issuer names the home tenant
  | 'keys-encryption-key' // ID tokens signed with a published key marked use "enc" (not for signatures)
  | 'keys-other-alg-key' // ID tokens signed with a published key marked alg "RS512" (not for RS256)
  | 'keys-no-issuer' // ID tokens signed with a published key that has no JWKS issuer (only the token's iss names the tenant)
  | 'discovery-error' // discovery answers 500
  | 'discovery-hang' // discovery never answers
  | 'discovery-other-tenant-issuer' // a tenant's discovery names another tenant as issuer
  | 'discovery-foreign-endpoints' // the token endpoint is on another host
  | 'discovery-tenant-segment-issuer' // the issuer names the requested tenant segment (…/common/v2.0), not the {tenantid} template
  | 'discovery-issuer-without-v2' // the issuer without /v2.0 (…/{tenantid}/, the v1 form) on the authority host
  // The authorization endpoint.
  | 'authorize-consent-required'; // redirects back with error=consent_required (AADSTS65001) and the state

/** A token request as the provider read it: what the client posted and what the redeemed code was bound to. */
export interface ReceivedTokenRequest {
  grantType: string | undefined;
  /** The PKCE code_verifier the client posted. */
  codeVerifier: string | undefined;
  /** The code_challenge the redeemed authorization code was issued for (undefined for other grants or unknown codes). */
  codeChallenge: string | undefined;
  /** The `scope` parameter as posted. */
  scope: string | undefined;
  /** The resource the provider resolved the request to (e.g. 'https://graph.microsoft.com'), if it got that far. */
  resource: string | undefined;
  /** The status the provider answered with. */
  status: number;
  /** The credential the client presented: its secret, a certificate assertion, a federated assertion, or none. */
  clientAuthentication: 'secret' | 'certificate' | 'federated' | 'none';
  /** True when the body had a client_secret parameter at all (even an empty one). */
  clientSecretSent: boolean;
  /** The client's port of the TCP connection the request came on: requests on one kept-alive connection share it. */
  clientPort: number | undefined;
  /** The client_assertion's header and claims as sent, decoded without verification (undefined without an assertion). */
  assertionHeader?: Record<string, unknown> | undefined;
  assertionClaims?: Record<string, unknown> | undefined;
}

/** A running local identity provider. */
export interface StartedIdp {
  /** e.g. 'http://127.0.0.1:5001' — use as O365_AUTHORITY_HOST. */
  origin: string;
  /** Same origin; use as GRAPH_BASE_URL (serves GET /v1.0/me). */
  graphBaseUrl: string;
  /** The home tenant GUID of the test accounts. */
  tenantId: string;
  accounts: readonly TestAccount[];
  /** Every access token the token endpoint handed out, in order (tests compare the stored one to this). */
  issuedAccessTokens: readonly string[];
  /** How many POSTs reached the token endpoint (tests assert it is not called on rejected callbacks). */
  tokenRequestCount(): number;
  /** How many GETs reached the key set (JWKS) endpoint. */
  jwksRequestCount(): number;
  /** How many requests of any kind reached the provider. */
  requestCount(): number;
  /** Every code, code verifier, client secret and token the provider received or issued (tests search logs for them). */
  issuedSecrets: readonly string[];
  /** Every token request that reached the token endpoint (not replaced by a token-endpoint fault), in order. */
  tokenRequests: readonly ReceivedTokenRequest[];
  /**
   * Runs when a token request arrives, before it is answered (tests use it to break things mid-exchange);
   * a promise it returns holds the answer until it settles.
   */
  setTokenRequestHook(hook: (() => unknown) | null): void;
  /** Applies to every following response until cleared with null; several faults of different kinds may be combined. */
  setFault(fault: IdpFault | readonly IdpFault[] | null): void;
  /** How many refresh_token grants presented a refresh token that an earlier refresh had already rotated away. */
  refreshTokenReuseCount(): number;
  /** Every admin consent approved, in order. */
  adminConsents: readonly AdminConsentRecord[];
  /** Makes a resource tenant-consented ('tenant') or not ('none', which also drops admin consents for it). */
  setResourceConsent(identifier: string, consent: 'tenant' | 'none'): void;
  /** Forgets the interactive consents for resources other than Graph of one account (by object id), or of every account. */
  revokeConsent(objectId?: string): void;
  /** Closes the connections that wait for a next request (a server's keep-alive timeout, ended early). */
  closeIdleConnections(): void;
  /** Stops the server, closes open connections and releases the port. */
  close(): Promise<void>;
}

/** Options of {@link startIdentityProvider}. */
export interface StartIdpOptions {
  /** 0 = any free port; default 5001. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  clients: IdpClient[];
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Called with each token request once it is recorded (the demo prints what each one carried). */
  onTokenRequestRecorded?: (request: ReceivedTokenRequest) => void;
  /** Resources besides Microsoft Graph; default DEFAULT_IDP_RESOURCES (Outlook, ARM, SharePoint, Storage, Dataverse, a custom API). */
  resources?: IdpResource[];
}
