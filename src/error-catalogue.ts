/** Values a message or fix needs (a URL, a host, a problem found); each entry that uses them says which. */
export type ErrorValues = Readonly<Record<string, string | undefined>>;
type Text = string | ((values: ErrorValues) => string);

/** What a person reads about one kind of failure: the HTTP status of its page, a title, what happened, how to fix it. */
export interface CatalogueEntry {
  readonly status: number;
  readonly title: string;
  readonly message: Text;
  readonly fix: Text;
}

const PROVIDER_UNAVAILABLE = 'Microsoft sign-in is unavailable';
const TRY_AGAIN_SOON = 'Try again in a minute.';
const START_AGAIN = 'Start again from the home page.';
const HOME = 'Go to the home page.';
const REQUEST_UNREADABLE = 'The request could not be read';
const BROWSER_NOT_UNDERSTOOD = 'The app could not understand what the browser sent.';
const CHECK_DATABASE = 'If it keeps happening, the operator should check the database (DATABASE_URL).';
const NO_TOKEN_SERVICE_ANSWER =
  "The app could not get an answer from Microsoft's token service, so your sign-in was not completed and nothing was stored.";
const NOT_REFRESHED = 'The token could not be refreshed';
const SIGN_IN_AGAIN = 'Sign in again.';
/** Where an operator finds the app's registration; the catalogue and the AADSTS advice both point there. */
export const ENTRA_APP = 'Microsoft Entra admin center › App registrations › your app';
const ONE_RESOURCE = 'Ask for one resource at a time';

/**
 * Every failure the app reports, by code: the error page, the token CLI and the tests read their words here.
 * A code names one cause; entries share a title when a person would describe the failures alike.
 */
export const ERROR_CATALOGUE = {
  // The request itself
  not_found: { status: 404, title: 'Page not found', message: 'There is nothing at this address.', fix: HOME },
  method_not_allowed: {
    status: 405,
    title: 'This address does not take that kind of request',
    message: 'The browser used a method this page does not accept.',
    fix: HOME,
  },
  url_too_long: {
    status: 414,
    title: 'This address is too long',
    message: 'The address the browser asked for is longer than any sign-in address, so it was ignored.',
    fix: 'Start the sign-in again from the home page.',
  },
  not_a_path: {
    status: 400,
    title: REQUEST_UNREADABLE,
    message: 'The browser asked for something that is not an address on this site.',
    fix: HOME,
  },
  /** Refused by the HTTP server before the app saw it (a malformed request line or header). */
  request_malformed: { status: 400, title: REQUEST_UNREADABLE, message: BROWSER_NOT_UNDERSTOOD, fix: HOME },
  /** A middleware (the form parser) refused the body; the page takes that middleware's 4xx status. */
  request_unreadable: { status: 400, title: REQUEST_UNREADABLE, message: BROWSER_NOT_UNDERSTOOD, fix: START_AGAIN },
  request_timeout: {
    status: 408,
    title: 'The request took too long',
    message: 'The browser did not finish sending its request in time, so it was ignored.',
    fix: 'Try again.',
  },
  headers_too_large: {
    status: 431,
    title: 'The request is too large',
    message: 'The browser sent more header data (usually cookies) than this app accepts, so the request was ignored.',
    fix: "Delete this site's cookies in the browser, then go to the home page.",
  },
  too_many_sign_ins: {
    status: 429,
    title: 'Too many sign-in attempts',
    message: 'This address has started too many sign-ins in the last minute.',
    fix: 'Wait a minute, then start the sign-in again.',
  },
  form_expired: {
    status: 403,
    title: 'This form has expired',
    message: "The form did not come from this app's page in this browser, or you are no longer signed in, so nothing was changed.",
    fix: 'Go back to the home page and use the button there.',
  },

  // The callback and what Microsoft answered
  invalid_callback: {
    status: 400,
    title: 'This sign-in link is invalid or has expired',
    message:
      'The answer from Microsoft does not match a sign-in started in this browser in the last 10 minutes, so it was ignored. ' +
      'This happens after using Back or reloading the page, or when a sign-in link came from somewhere else.',
    fix: 'Start the sign-in again.',
  },
  /** Values: baseUrl (BASE_URL), requestHost (the Host the callback came to, when it is another). */
  session_cookie_lost: {
    status: 400,
    title: "Your browser lost this app's session during sign-in",
    message: ({ requestHost }) =>
      "Microsoft sent you back, but your browser did not send this app's session cookie with it, so the app cannot tell which " +
      `sign-in this is.${requestHost === undefined ? '' : ` This request came to ${requestHost.slice(0, 100)}.`}`,
    fix: ({ baseUrl = '' }) => {
      const expected = new URL(baseUrl);
      return (
        `Open the app at ${baseUrl}/ (host ${expected.host}, ${expected.protocol.replace(':', '')}) and sign in from there: ` +
        'the cookie only comes back to the exact host and scheme it was set on. ' +
        'Also check that the browser accepts cookies for this site, and that BASE_URL matches the address people open.'
      );
    },
  },
  declined: {
    status: 403,
    title: 'You did not sign in',
    message: 'The sign-in was cancelled at Microsoft, or the permissions the app asks for were declined, so nothing was stored.',
    fix: 'Sign in again when you are ready. If your organisation requires an administrator to approve the app, ask them to grant consent (AADSTS65001).',
  },
  /** Microsoft sent the browser back with ?error= other than access_denied. */
  authorization_failed: {
    status: 400,
    title: 'Microsoft could not sign you in',
    message: 'Microsoft sent the browser back with an error instead of a sign-in.',
    fix: START_AGAIN,
  },
  tenant_not_allowed: {
    status: 403,
    title: 'Your organisation cannot use this app',
    message: 'You signed in with an account from an organisation (tenant) this app is not set up to accept, so nothing was stored.',
    fix: 'Sign in with an account from an allowed organisation, or ask the operator to add your tenant ID to O365_ALLOWED_TENANTS.',
  },
  code_rejected: {
    status: 400,
    title: 'This sign-in could not be completed',
    message: 'Microsoft did not accept the sign-in code: it was already used, has expired, or belongs to another sign-in.',
    fix: 'Start the sign-in again.',
  },
  /** The token endpoint answered with an OAuth error this catalogue has no closer entry for. */
  token_request_refused: {
    status: 400,
    title: 'Microsoft could not complete the sign-in',
    message: "Microsoft's token service refused the request.",
    fix: START_AGAIN,
  },
  client_misconfigured: {
    status: 502,
    title: "The app's registration does not match its settings",
    message:
      `${PROVIDER_UNAVAILABLE} for this app: Microsoft refused the app's credentials, so nobody can sign in until the operator fixes them. ` +
      'Try again once they have.',
    fix:
      "Operator: check O365_APP_ID and the app's credential: O365_APP_KEY (a client secret), O365_APP_CERT_PATH (a certificate) or " +
      `O365_CLIENT_ASSERTION_FILE (a federated credential), against ${ENTRA_APP} › Certificates & secrets.`,
  },
  /** Values: setting (the variable naming the token file), tokenFile, problem (what is wrong with it). */
  federated_token_unusable: {
    status: 503,
    title: 'The app cannot read its federated credential',
    message: ({ setting = '', problem = '' }) =>
      `The token file the platform provides to the app (${setting}) ${problem}, so the app could not ask Microsoft for tokens ` +
      'and nothing was stored.',
    fix: ({ setting = '' }) =>
      `${TRY_AGAIN_SOON} If it keeps happening, the operator should check that the platform still writes and rotates the file ${setting} ` +
      'names (Kubernetes: the pod runs with a workload identity service account and the azure.workload.identity/use label).',
  },
  id_token_invalid: {
    status: 400,
    title: 'Your sign-in could not be verified',
    message:
      "The identity token that came back from Microsoft did not pass the app's checks, so you were not signed in and nothing was stored.",
    fix: "Start the sign-in again. If it keeps happening, the operator should check O365_APP_ID, O365_TENANT and the server's clock.",
  },

  // Microsoft out of reach
  discovery_unavailable: {
    status: 503,
    title: PROVIDER_UNAVAILABLE,
    message: "The app could not reach Microsoft's sign-in service to start or finish your sign-in.",
    fix: `${TRY_AGAIN_SOON} If it keeps happening, the operator should check that O365_AUTHORITY_HOST and O365_TENANT are right and reachable.`,
  },
  /** Values: problem (what in the discovery document does not fit the settings). It also stops `npm start`. */
  discovery_mismatch: {
    status: 502,
    title: PROVIDER_UNAVAILABLE,
    message: ({ problem = '' }) => problem,
    fix: 'Operator: check O365_AUTHORITY_HOST and O365_TENANT, then restart the app.',
  },
  signing_keys_unavailable: {
    status: 503,
    title: PROVIDER_UNAVAILABLE,
    message: "The app could not read Microsoft's signing keys to check who you are, so nothing was stored.",
    fix: TRY_AGAIN_SOON,
  },
  token_service_unreachable: { status: 502, title: PROVIDER_UNAVAILABLE, message: NO_TOKEN_SERVICE_ANSWER, fix: TRY_AGAIN_SOON },
  token_service_timed_out: { status: 503, title: PROVIDER_UNAVAILABLE, message: NO_TOKEN_SERVICE_ANSWER, fix: TRY_AGAIN_SOON },
  /** temporarily_unavailable or server_error from the token endpoint. */
  token_service_unavailable: {
    status: 503,
    title: PROVIDER_UNAVAILABLE,
    message: "Microsoft's token service reported a temporary problem, so nothing was stored.",
    fix: TRY_AGAIN_SOON,
  },
  token_response_unusable: {
    status: 502,
    title: PROVIDER_UNAVAILABLE,
    message: "Microsoft's token service gave an answer the app cannot use, so nothing was stored.",
    fix: TRY_AGAIN_SOON,
  },

  // The app's own storage
  storage_unavailable: {
    status: 503,
    title: 'The app cannot reach its database',
    message: 'The app could not read or write its database just now, so nothing was changed.',
    fix: `${TRY_AGAIN_SOON} ${CHECK_DATABASE}`,
  },
  sign_in_not_saved: {
    status: 503,
    title: 'The app could not save your sign-in',
    message: 'You signed in at Microsoft, but the app could not store the result, so you are not signed in here.',
    fix: `${TRY_AGAIN_SOON} ${CHECK_DATABASE}`,
  },
  session_not_saved: {
    status: 503,
    title: 'The app could not save your session',
    message: 'The app could not write to its database just now, so the result of what you asked for cannot be shown.',
    fix: `Go to the home page and try again in a minute. ${CHECK_DATABASE}`,
  },
  unexpected: {
    status: 500,
    title: 'Something went wrong',
    message: 'The app ran into a problem it did not expect. Nothing you did caused it.',
    fix: 'Try again. If it keeps happening, the operator can find the error in the server log.',
  },

  // The stored token: shown on the home page, in its notices and by npm run token rather than as an error page
  no_stored_token: { status: 401, title: NOT_REFRESHED, message: 'No token is stored for this user: sign in first.', fix: SIGN_IN_AGAIN },
  no_refresh_token: {
    status: 401,
    title: NOT_REFRESHED,
    message: 'There is no refresh token (the offline_access scope was not granted): sign in again for a new access token.',
    fix: SIGN_IN_AGAIN,
  },
  refresh_token_refused: {
    status: 401,
    title: NOT_REFRESHED,
    message: 'Microsoft no longer accepts the stored refresh token: sign in again.',
    fix: SIGN_IN_AGAIN,
  },
  refresh_refused_before: {
    status: 401,
    title: NOT_REFRESHED,
    message: 'The stored token can no longer be refreshed: sign in again.',
    fix: SIGN_IN_AGAIN,
  },
  refresh_for_another_user: {
    status: 401,
    title: NOT_REFRESHED,
    message: 'Microsoft answered the refresh for another user, so nothing was stored: sign in again.',
    fix: SIGN_IN_AGAIN,
  },
  refresh_unavailable: {
    status: 503,
    title: NOT_REFRESHED,
    message: 'Microsoft could not refresh the token just now. Try again in a minute.',
    fix: TRY_AGAIN_SOON,
  },
  refresh_client_refused: {
    status: 503,
    title: NOT_REFRESHED,
    message:
      "Microsoft refused the app's own credential (its client secret, certificate or federated token), so the token could not be refreshed.",
    fix: "Operator: fix the app's credential (see the AADSTS code), then try again.",
  },
  refresh_provider_unavailable: {
    status: 503,
    title: NOT_REFRESHED,
    message: `${PROVIDER_UNAVAILABLE}, so the token could not be refreshed.`,
    fix: TRY_AGAIN_SOON,
  },
  refresh_taking_too_long: {
    status: 503,
    title: NOT_REFRESHED,
    message: 'Another refresh of this token is taking too long. Try again in a minute.',
    fix: TRY_AGAIN_SOON,
  },

  // Tokens for other resources (APIs): shown on the home page, its notices and by npm run token
  /** Values: resources (the resources the list names, separated by " and "). */
  scopes_span_resources: {
    status: 400,
    title: ONE_RESOURCE,
    message: ({ resources = '' }) =>
      `These scopes belong to more than one resource (${resources}). Microsoft issues a token for one resource per request ` +
      '(it refuses such a list with AADSTS28000), so nothing was asked.',
    fix: 'Ask for the scopes of each resource separately. openid, profile, email and offline_access may go with any one resource.',
  },
  /** Values: resource. */
  scopes_default_with_others: {
    status: 400,
    title: ONE_RESOURCE,
    message: ({ resource = '' }) =>
      `.default asks for every permission of ${resource} the app has consent for, so it cannot go with named permissions of ` +
      'the same resource (Microsoft refuses that with AADSTS70011). Nothing was asked.',
    fix: 'Ask either for .default alone or for the named permissions.',
  },
  /** Values: scope (the scope Microsoft would not accept). */
  scope_not_valid: {
    status: 400,
    title: ONE_RESOURCE,
    message: ({ scope = '' }) => `"${scope.slice(0, 100)}" is not a scope Microsoft accepts, so nothing was asked.`,
    fix:
      'Write a scope as the resource and the permission, e.g. https://outlook.office.com/Mail.Read, api://<application id>/Read or ' +
      '<application id>/Read; Microsoft Graph permissions may be written alone (User.Read); .default asks for every consented permission.',
  },
  scopes_no_resource: {
    status: 400,
    title: ONE_RESOURCE,
    message: 'No resource was named: openid, profile, email and offline_access are not a resource of their own, so nothing was asked.',
    fix: 'Name the API, e.g. https://outlook.office.com/.default or https://management.azure.com/user_impersonation.',
  },
  scopes_too_long: {
    status: 400,
    title: ONE_RESOURCE,
    message: 'The list of scopes is longer than any Microsoft accepts (at most 50 scopes of 512 characters), so nothing was asked.',
    fix: 'Ask for the permissions you need, or for .default.',
  },
  /** Values: resource. AADSTS65001 (suberror consent_required). */
  resource_consent_required: {
    status: 403,
    title: 'Consent is needed for this API',
    message: ({ resource = '' }) =>
      `Microsoft answered that neither you nor an administrator has consented to this app using ${resource}, so it issued no token. ` +
      'Your sign-in and your other tokens are unchanged.',
    fix:
      'Sign in for this API and accept its permissions. If your organisation lets only administrators consent, ' +
      'send an administrator the admin-consent link.',
  },
  /** Values: resource. AADSTS50076/50079 and other interaction_required answers (suberror basic_action, a claims challenge). */
  resource_interaction_required: {
    status: 403,
    title: 'Microsoft wants you to sign in again for this API',
    message: ({ resource = '' }) =>
      `Microsoft requires an interactive sign-in before it issues a token for ${resource} (for example multi-factor authentication ` +
      'or a Conditional Access policy of your organisation). Your sign-in and your other tokens are unchanged.',
    fix: 'Sign in for this API: Microsoft asks what it needs, then the token is stored here.',
  },
  /** Values: resource; personal ("yes" for a personal Microsoft account). AADSTS70011, 28000, 500011. */
  resource_scope_refused: {
    status: 400,
    title: 'Microsoft does not issue this token',
    message: ({ resource = '' }) => `Microsoft refused the scopes asked for ${resource}, so it issued no token.`,
    fix: ({ personal }) =>
      personal === 'yes'
        ? 'This API does not accept personal Microsoft accounts (Azure Resource Manager, SharePoint, Azure Storage and Dataverse ' +
          'are for work or school accounts): sign in with a work or school account to use it.'
        : "Check the resource and the permission names against the API's registration (Microsoft Entra admin center › " +
          'App registrations or Enterprise applications), and that your tenant has the resource.',
  },
  /** Values: resource. invalid_grant without a consent or interaction suberror, for a resource other than the default. */
  resource_refresh_refused: {
    status: 401,
    title: 'Microsoft refused the refresh token for this API',
    message: ({ resource = '' }) =>
      `Microsoft did not accept the stored refresh token for ${resource} (it may be expired or revoked, or your account may not ` +
      'be allowed to use this API), so it issued no token. Nothing was changed.',
    fix: 'Sign in again: a new sign-in serves every API. If it keeps happening, ask your administrator whether you may use this API.',
  },
  /** Admin consent answered with ?error= (an administrator declined, or is not one). */
  admin_consent_refused: {
    status: 403,
    title: 'Admin consent was not granted',
    message: 'Microsoft sent the browser back from the admin-consent page with an error instead of a consent.',
    fix:
      'An administrator of your organisation (for example a Global Administrator or Privileged Role Administrator) must open ' +
      'the link and accept. Ask one, or consent for yourself with "Sign in for this API" if your organisation allows it.',
  },
  admin_consent_personal_account: {
    status: 400,
    title: 'Personal accounts have no administrator',
    message: 'Admin consent is given by an administrator of an organisation (a tenant); a personal Microsoft account has none.',
    fix: 'Use "Sign in for this API" to consent for yourself, or sign in with a work or school account for an API that needs an administrator.',
  },
  /** Values: account (who signed in at Microsoft), user (who is signed in here). */
  resource_sign_in_other_account: {
    status: 403,
    title: 'You signed in as someone else',
    message: ({ account = '', user = '' }) =>
      `You signed in at Microsoft as ${account.slice(0, 100)}, but this page belongs to ${user.slice(0, 100)}. ` +
      "Nothing was stored: one account's tokens are never stored for another.",
    fix: ({ user = '' }) => `Sign in for the API as ${user.slice(0, 100)}, or sign out here and sign in as the other account.`,
  },
} as const satisfies Record<string, CatalogueEntry>;

export type AppErrorCode = keyof typeof ERROR_CATALOGUE;

/** The catalogue's words for a code, with its values filled in. */
export function describeError(
  code: AppErrorCode,
  values: ErrorValues = {},
): { status: number; title: string; message: string; fix: string } {
  const entry: CatalogueEntry = ERROR_CATALOGUE[code];
  const fill = (text: Text) => (typeof text === 'string' ? text : text(values));
  return { status: entry.status, title: entry.title, message: fill(entry.message), fix: fill(entry.fix) };
}
