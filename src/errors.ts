/** What Microsoft (or the local provider) said about a failure, shown as details on the error page. */
export interface ProviderDetails {
  error?: string;
  description?: string;
  /** The AADSTS number, e.g. "50011", when the description carries one. */
  aadsts?: string;
  correlationId?: string;
  traceId?: string;
  timestamp?: string;
}

export type SignInErrorCode =
  | 'invalid_callback'
  | 'declined'
  | 'tenant_not_allowed'
  | 'provider_error'
  | 'code_rejected'
  | 'id_token_invalid'
  | 'client_misconfigured'
  | 'provider_unavailable'
  | 'storage_unavailable'
  | 'bad_request'
  | 'unexpected';

const STATUS: Record<SignInErrorCode, number> = {
  invalid_callback: 400,
  declined: 403,
  tenant_not_allowed: 403,
  provider_error: 400,
  code_rejected: 400,
  id_token_invalid: 400,
  client_misconfigured: 502,
  provider_unavailable: 503,
  storage_unavailable: 503,
  bad_request: 400,
  unexpected: 500,
};

/** A failure of the sign-in flow: a status, a plain title and message, how to fix it, and the provider's details. */
export class SignInError extends Error {
  readonly code: SignInErrorCode;
  readonly status: number;
  readonly title: string;
  readonly fix: string;
  readonly details: ProviderDetails;

  constructor(code: SignInErrorCode, title: string, message: string, options: { fix?: string; details?: ProviderDetails; cause?: unknown; status?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SignInError';
    this.code = code;
    this.status = options.status ?? STATUS[code];
    this.title = title;
    this.fix = options.fix ?? 'Start again from the home page.';
    this.details = options.details ?? {};
  }
}

/** The REJECT of the security checklist: the callback does not belong to a sign-in this browser started. */
export function invalidCallback(reason: string): SignInError {
  return new SignInError('invalid_callback', 'This sign-in link is invalid or has expired',
    'The answer from Microsoft does not match a sign-in started in this browser in the last 10 minutes, so it was ignored. '
    + 'This happens after using Back or reloading the page, or when a sign-in link came from somewhere else.',
    { fix: 'Start the sign-in again.', cause: new Error(reason) });
}

/** The tenant is not on O365_ALLOWED_TENANTS: a genuine sign-in this app does not accept. */
export function tenantNotAllowed(tenantId: string): SignInError {
  return new SignInError('tenant_not_allowed', 'Your organisation cannot use this app',
    'You signed in with an account from an organisation (tenant) this app is not set up to accept, so nothing was stored.',
    { fix: 'Sign in with an account from an allowed organisation, or ask the operator to add your tenant ID to O365_ALLOWED_TENANTS.',
      details: { error: 'tenant_not_allowed', description: `Tenant ID ${tenantId}` } });
}

/** Pulls the AADSTS number out of an error_description such as "AADSTS50011: The redirect URI …". */
export function parseAadstsCode(description: string | undefined): string | undefined {
  return description?.match(/^AADSTS(\d{4,7})\b/)?.[1];
}

/** Microsoft appends "Trace ID: …", "Correlation ID: …" and "Timestamp: …" lines to an error_description. */
export function idsFromDescription(description: string | undefined): Pick<ProviderDetails, 'traceId' | 'correlationId' | 'timestamp'> {
  const line = (label: string) => description?.match(new RegExp(`^${label}: ([0-9A-Za-z:. -]{1,64})\\s*$`, 'm'))?.[1]?.trim();
  return { traceId: line('Trace ID'), correlationId: line('Correlation ID'), timestamp: line('Timestamp') };
}

/** The first line of an error_description: Microsoft appends trace and correlation ids on further lines. */
export function firstLine(description: string | undefined): string | undefined {
  return description?.split(/\r?\n/)[0]?.slice(0, 500);
}
