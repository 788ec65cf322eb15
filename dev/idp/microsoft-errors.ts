// Development only: Microsoft identity platform (AADSTS) error codes and error shapes for the local identity provider.
import { randomUUID } from 'node:crypto';

import { TENANT_NAME } from './accounts.ts';

/** An AADSTS code with its text, e.g. { code: 7000215, text: 'Invalid client secret provided. …' }. */
export interface AadError {
  code: number;
  text: string;
}

/** Request context that makes some AADSTS texts more specific. */
export interface AadErrorHints {
  clientId?: string | undefined;
  redirectUri?: string | undefined;
  resource?: string | undefined;
}

/** The ids and time Microsoft appends to every error. */
export interface TraceInfo {
  traceId: string;
  correlationId: string;
  timestamp: string;
}

/** Microsoft's JSON error body of the token endpoint. */
export interface MicrosoftErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri?: string;
  /** e.g. 'consent_required', 'basic_action': what MSAL reads to decide that the user must sign in interactively. */
  suberror?: string;
  /** A claims challenge as a JSON string, to pass back on /authorize as the `claims` parameter. */
  claims?: string;
}

/** The optional members Microsoft adds to some token-endpoint errors. */
export interface MicrosoftErrorExtras {
  suberror?: string;
  claims?: string;
  /** Adds `error_uri` (Microsoft's page for the code), as newer responses carry. */
  withErrorUri?: boolean;
}

/** Microsoft's page for an AADSTS code, the `error_uri` of its errors. */
export function errorUriFor(code: number): string {
  return `https://login.microsoftonline.com/error?code=${code}`;
}

/** Fresh trace and correlation ids and a timestamp in Microsoft's format ('2025-01-31 12:34:56Z'). */
export function newTraceInfo(): TraceInfo {
  return {
    traceId: randomUUID(),
    correlationId: randomUUID(),
    timestamp: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
  };
}

/** 'AADSTSnnnnn: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …', as Microsoft writes error_description. */
export function aadDescription(aad: AadError, trace: TraceInfo): string {
  return `AADSTS${aad.code}: ${aad.text}\r\nTrace ID: ${trace.traceId}\r\nCorrelation ID: ${trace.correlationId}\r\nTimestamp: ${trace.timestamp}`;
}

/** Microsoft's JSON error body for an OAuth error code and an AADSTS error. */
export function microsoftErrorBody(
  error: string,
  aad: AadError,
  trace: TraceInfo = newTraceInfo(),
  extras: MicrosoftErrorExtras = {},
): MicrosoftErrorBody {
  return {
    error,
    error_description: aadDescription(aad, trace),
    error_codes: [aad.code],
    timestamp: trace.timestamp,
    trace_id: trace.traceId,
    correlation_id: trace.correlationId,
    ...(extras.withErrorUri === true ? { error_uri: errorUriFor(aad.code) } : {}),
    ...(extras.suberror === undefined ? {} : { suberror: extras.suberror }),
    ...(extras.claims === undefined ? {} : { claims: extras.claims }),
  };
}

/** Catalogue of the AADSTS errors the local provider produces. */
export const AAD = {
  tenantNotFound: (tenant: string): AadError => ({
    code: 90002,
    text: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  }),
  invalidClientSecret: (clientId = ''): AadError => ({
    code: 7000215,
    text: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  missingClientSecret: (): AadError => ({
    code: 7000218,
    text: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  applicationNotFound: (clientId = ''): AadError => ({
    code: 700016,
    text: `Application with identifier '${clientId}' was not found in the directory '${TENANT_NAME}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  codeAlreadyRedeemed: (): AadError => ({
    code: 54005,
    text: 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  }),
  grantExpired: (): AadError => ({
    code: 70008,
    text: 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
  }),
  pkceMismatch: (): AadError => ({
    code: 501481,
    text: 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
  }),
  redirectUriMismatch: (redirectUri = '', clientId = ''): AadError => ({
    code: 50011,
    text: `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  }),
  invalidGrant: (): AadError => ({ code: 70000, text: 'Provided grant is invalid or malformed.' }),
  missingParameter: (name: string): AadError => ({
    code: 900144,
    text: `The request body must contain the following parameter: '${name}'.`,
  }),
  invalidRequest: (detail: string): AadError => ({ code: 90100, text: `Invalid request. ${detail}` }),
  unsupportedGrantType: (): AadError => ({ code: 70003, text: 'The app requested an unsupported grant type.' }),
  invalidScope: (detail: string): AadError => ({
    code: 70011,
    text: `The provided value for the input parameter 'scope' is not valid. ${detail}`,
  }),
  resourceNotFound: (resource = ''): AadError => ({
    code: 500011,
    text: `The resource principal named ${resource} was not found in the tenant named ${TENANT_NAME}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  }),
  unauthorizedClient: (detail: string): AadError => ({ code: 700025, text: `Client is not authorized for this request. ${detail}` }),
  loginRequired: (): AadError => ({ code: 50058, text: 'A silent sign-in request was sent but no user is signed in.' }),
  consentRequired: (): AadError => ({
    code: 65001,
    text: 'The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.',
  }),
  interactionRequired: (): AadError => ({
    code: 50076,
    text: 'Due to a configuration change, you must sign in again to access this resource.',
  }),
  userDeclined: (): AadError => ({ code: 65004, text: 'User declined to consent to access the app.' }),
  // Seen on /token for scopes of two resources (code redemption and refresh); not in the error-code table.
  multipleResources: (scope: string): AadError => ({
    code: 28000,
    text: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
  }),
  // learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow (error response sample).
  scopeNotValid: (scope: string): AadError => ({
    code: 70011,
    text: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  }),
  // What a personal account gets for a work-only resource such as Azure Resource Manager.
  scopeDoesNotExist: (scope: string): AadError => ({
    code: 70011,
    text: `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' does not exist.`,
  }),
  delegationDoesNotExist: (clientId: string, appName: string): AadError => ({
    code: 65001,
    text: `The user or administrator has not consented to use the application with ID '${clientId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
  }),
  mfaRequired: (resource: string): AadError => ({
    code: 50076,
    text: `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resource}'.`,
  }),
  adminConsentRequired: (): AadError => ({ code: 90094, text: 'The grant requires admin permission.' }),
  userNotInTenant: (username: string, clientId: string): AadError => ({
    code: 50020,
    text: `User account '${username}' from identity provider 'live.com' does not exist in tenant '${TENANT_NAME}' and cannot access the application '${clientId}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.`,
  }),
  // The answer seen for /common/v2.0/adminconsent (MicrosoftDocs/azure-docs#45151); the code is the one for a missing field.
  adminConsentNeedsTenant: (): AadError => ({
    code: 90014,
    text: "The provided request must include a 'response_type' input parameter.",
  }),
  invalidCredentials: (): AadError => ({
    code: 50126,
    text: 'Error validating credentials due to invalid username or password.',
  }),
  serviceError: (): AadError => ({
    code: 50000,
    text: 'There was an error issuing a token or an issue with our sign-in service.',
  }),
  sessionNotFound: (): AadError => ({
    code: 90014,
    text: 'The sign-in request was not found or has expired. Start the sign-in again from the application.',
  }),
} as const;

/**
 * Maps an oidc-provider error (its OAuth `error`, `error_description` and internal detail) to the
 * AADSTS error Microsoft returns in the same situation.
 */
export function aadErrorFor(
  error: string,
  description: string | undefined,
  detail: string | undefined,
  hints: AadErrorHints = {},
): AadError {
  const info = `${description ?? ''} ${detail ?? ''}`;
  switch (error) {
    case 'invalid_client':
      if (/client not found|client is invalid/.test(info)) return AAD.applicationNotFound(hints.clientId);
      if (/does not match the registered client authentication method|no client authentication/.test(info)) {
        return AAD.missingClientSecret();
      }
      return AAD.invalidClientSecret(hints.clientId);
    case 'invalid_grant':
      if (/code_verifier|code_challenge|PKCE/i.test(info)) return AAD.pkceMismatch();
      if (/authorization code already consumed/.test(info)) return AAD.codeAlreadyRedeemed();
      if (/redirect_uri mismatch/.test(info)) return AAD.redirectUriMismatch(hints.redirectUri, hints.clientId);
      if (/not found|expired|already used|consumed/.test(info)) return AAD.grantExpired();
      return AAD.invalidGrant();
    case 'invalid_redirect_uri':
      return AAD.redirectUriMismatch(hints.redirectUri, hints.clientId);
    case 'invalid_request': {
      const missing = /missing required parameters? '([^']+)'/.exec(info);
      if (missing?.[1] !== undefined) return AAD.missingParameter(missing[1]);
      if (/PKCE/.test(info)) return AAD.missingParameter('code_challenge');
      if (/no client authentication mechanism provided/.test(info)) return AAD.missingParameter('client_id');
      return AAD.invalidRequest(description ?? 'The request is malformed.');
    }
    case 'unsupported_grant_type':
      return AAD.unsupportedGrantType();
    case 'invalid_scope':
      return AAD.invalidScope(description ?? '');
    case 'invalid_target':
      return AAD.resourceNotFound(hints.resource);
    case 'unauthorized_client':
    case 'unsupported_response_type':
      return AAD.unauthorizedClient(description ?? '');
    case 'access_denied':
      return AAD.userDeclined();
    case 'login_required':
      return AAD.loginRequired();
    case 'consent_required':
      return AAD.consentRequired();
    case 'interaction_required':
      return AAD.interactionRequired();
    case 'server_error':
    case 'temporarily_unavailable':
      return AAD.serviceError();
    default:
      return AAD.invalidRequest(description ?? error);
  }
}
