// Development only: shared types of the local Microsoft-compatible identity provider.

/** A client application registered at the local provider (the equivalent of an Entra ID app registration). */
export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

/** A user of the local provider's home tenant. */
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

/** A failure the token endpoint can be told to produce, see {@link StartedIdp.setFault}. */
export type IdpFault =
  | 'token-invalid-client' // token endpoint: 401 invalid_client, AADSTS7000215, error_codes [7000215]
  | 'token-invalid-grant' // token endpoint: 400 invalid_grant, AADSTS54005 (code already redeemed)
  | 'token-server-error' // token endpoint: 500 with Microsoft-shaped JSON (error: 'server_error')
  | 'token-html' // token endpoint: 200 with an HTML body
  | 'id-token-wrong-nonce'
  | 'id-token-wrong-audience'
  | 'id-token-expired' // exp and iat an hour or more in the past
  | 'id-token-wrong-issuer' // iss of another tenant on the same origin
  | 'id-token-bad-signature' // signature bytes altered
  | 'id-token-unknown-key' // signed with a key whose kid is NOT in the JWKS
  | 'id-token-alg-none'; // header alg none, empty signature

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
  /** Applies to every following token response until cleared with null. */
  setFault(fault: IdpFault | null): void;
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
}
