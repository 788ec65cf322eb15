import { describeError } from './error-catalogue.ts';
import type { ScopeParse } from './auth/resource-scopes.ts';
import type { AppErrorCode, ErrorValues } from './error-catalogue.ts';

export type { AppErrorCode } from './error-catalogue.ts';

/** What Microsoft (or the local provider) said about a failure, shown as details on the error page. */
export interface ProviderDetails {
  error?: string;
  description?: string;
  /** The AADSTS number, e.g. "50011", when the description carries one. */
  aadsts?: string;
  correlationId?: string;
  traceId?: string;
  timestamp?: string;
  /** Microsoft's refinement of `error` on the token endpoint, e.g. consent_required, basic_action (MFA). */
  suberror?: string;
  /** A claims challenge (a JSON object, as text) to pass on to the authorization request. */
  claims?: string;
}

/** A claims challenge is small JSON; anything longer or not an object is not passed on. */
const MAX_CLAIMS_LENGTH = 2000;

/** The `claims` value of a token error when it is a JSON object of reasonable size, else undefined. */
export function claimsChallengeOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_CLAIMS_LENGTH) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface AppErrorOptions {
  /** Values the catalogue entry's message or fix needs (see its doc comment). */
  values?: ErrorValues;
  details?: ProviderDetails;
  cause?: unknown;
  /** Only for `request_unreadable`: the 4xx status of the middleware that refused the request. */
  status?: number;
}

/**
 * Every failure the app reports to a person: a `code` from src/error-catalogue.ts, which gives the status, title,
 * message and fix; what Microsoft said in `details`; the underlying failure in `cause` (logged, never shown).
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: AppErrorCode;
  readonly status: number;
  readonly title: string;
  readonly fix: string;
  readonly details: ProviderDetails;

  constructor(code: AppErrorCode, options: AppErrorOptions = {}) {
    const { status, title, message, fix } = describeError(code, options.values);
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? status;
    this.title = title;
    this.fix = fix;
    this.details = options.details ?? {};
  }
}

/** True for an AppError with one of these codes. */
export function isAppError(error: unknown, ...codes: AppErrorCode[]): error is AppError {
  return error instanceof AppError && (codes.length === 0 || codes.includes(error.code));
}

/** The REJECT of the security checklist: the callback does not belong to a sign-in this browser started. */
export function invalidCallback(reason: string): AppError {
  return new AppError('invalid_callback', { cause: new Error(reason) });
}

/** The tenant is not on O365_ALLOWED_TENANTS: a genuine sign-in this app does not accept. */
export function tenantNotAllowed(tenantId: string): AppError {
  return new AppError('tenant_not_allowed', { details: { error: 'tenant_not_allowed', description: `Tenant ID ${tenantId}` } });
}

/**
 * Microsoft's error fields, from the JSON of its token endpoint or the query of an error redirect: `error`,
 * `error_description` (an "AADSTSnnnnn: …" first line, then "Trace ID: …", "Correlation ID: …" and "Timestamp: …" lines),
 * and in JSON `error_codes`, `trace_id`, `correlation_id`, `timestamp`, `suberror` and `claims` (a claims challenge, see
 * learn.microsoft.com/entra/identity-platform/claims-challenge). Only what is worth showing and logging:
 * never tokens, codes or secrets, each value at most 500 characters.
 */
export function providerDetails(fields: Readonly<Record<string, unknown>>): ProviderDetails {
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 500) : undefined);
  const description = typeof fields.error_description === 'string' ? fields.error_description : undefined;
  const line = (label: string) => description?.match(new RegExp(`^${label}: ([0-9A-Za-z:. -]{1,64})\\s*$`, 'm'))?.[1]?.trim();
  const codes = Array.isArray(fields.error_codes) ? fields.error_codes : [];
  const suberror = typeof fields.suberror === 'string' && /^[a-z_]{1,40}$/.test(fields.suberror) ? fields.suberror : undefined;
  const claims = claimsChallengeOf(fields.claims);
  return {
    error: text(fields.error),
    description: description?.split(/\r?\n/)[0]?.slice(0, 500),
    aadsts: typeof codes[0] === 'number' ? String(codes[0]) : description?.match(/^AADSTS(\d{4,7})\b/)?.[1],
    correlationId: text(fields.correlation_id) ?? line('Correlation ID'),
    traceId: text(fields.trace_id) ?? line('Trace ID'),
    timestamp: text(fields.timestamp) ?? line('Timestamp'),
    ...(suberror === undefined ? {} : { suberror }),
    ...(claims === undefined ? {} : { claims }),
  };
}

/** A scope list refused before any request (src/auth/resource-scopes.ts), as the catalogue words it. */
export function scopeProblemError(parse: Exclude<ScopeParse, { ok: true }>): AppError {
  switch (parse.problem) {
    case 'several_resources':
      return new AppError('scopes_span_resources', { values: { resources: parse.resources.join(' and ') } });
    case 'default_with_others':
      return new AppError('scopes_default_with_others', { values: { resource: parse.resource } });
    case 'invalid_scope':
      return new AppError('scope_not_valid', { values: { scope: parse.scope } });
    case 'too_long':
      return new AppError('scopes_too_long');
    case 'no_resource':
      return new AppError('scopes_no_resource');
  }
}
