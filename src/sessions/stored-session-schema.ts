import * as z from 'zod';
import { MAX_PENDING_ADMIN_CONSENTS } from '../auth/admin-consent.ts';
import type { PendingAdminConsent } from '../auth/admin-consent.ts';
import { MAX_PENDING_SIGN_INS } from '../auth/pending-sign-ins.ts';
import type { PendingSignIn } from '../auth/pending-sign-ins.ts';
import { createBoundedMap } from '../bounded-memo.ts';
import { claimsChallengeOf } from '../errors.ts';

/** Milliseconds since the epoch, as Date.now() gives them. */
const timestampSchema = z.int().nonnegative();

/** A moment written by Date#toISOString (a real calendar date: 30 February fails). */
const isoDateSchema = z.iso.datetime();

/** A CSPRNG value from randomToken() (src/random-token.ts): 43 base64url characters (RFC 7636 §4.1 allows a verifier up to 128). */
const randomValueSchema = z.string().regex(/^[A-Za-z0-9_-]{43,128}$/);

/** One resource's scopes as the app checked them (src/auth/resource-scopes.ts): printable, at most 50 of 512 characters. */
const scopesSchema = z
  .array(
    z
      .string()
      .max(512)
      .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/),
  )
  .min(1)
  .max(50)
  .readonly();

/** A claims challenge from Microsoft: a JSON object as text, at most 2000 characters. */
const claimsSchema = z.string().refine((value) => claimsChallengeOf(value) !== undefined);

const tenantIdSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

const pendingSignInSchema = z.strictObject({
  state: randomValueSchema,
  nonce: randomValueSchema,
  codeVerifier: randomValueSchema,
  createdAt: timestampSchema,
  incremental: z.strictObject({ userId: z.string().min(1), scopes: scopesSchema, claims: claimsSchema.optional() }).optional(),
}) satisfies z.ZodType<PendingSignIn>;

const pendingAdminConsentSchema = z.strictObject({
  state: randomValueSchema,
  tenantId: tenantIdSchema,
  scopes: scopesSchema,
  createdAt: timestampSchema,
}) satisfies z.ZodType<PendingAdminConsent>;

const noticeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('signed-out') }),
  z.strictObject({ kind: z.literal('signed-out-microsoft') }),
  z.strictObject({ kind: z.literal('forgotten') }),
  z.strictObject({ kind: z.literal('refreshed'), expiresAt: isoDateSchema }),
  z.strictObject({
    kind: z.literal('refresh-failed'),
    message: z.string(),
    aadsts: z.string().optional(),
    correlationId: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('graph-ok'),
    displayName: z.string(),
    mail: z.string(),
    userPrincipalName: z.string(),
    signInNeededAfter: isoDateSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('graph-failed'),
    status: z.int().nonnegative(),
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
  }),
  /** A token for another resource came (or was still stored): it is listed on the page. */
  z.strictObject({ kind: z.literal('resource-token'), resource: z.string().max(512), refreshed: z.boolean() }),
  /** No token for another resource: why, Microsoft's words, and what was asked (for the sign-in and admin-consent buttons). */
  z.strictObject({
    kind: z.literal('resource-refused'),
    problem: z.enum([
      'invalid_request',
      'consent_required',
      'interaction_required',
      'scope_refused',
      'refresh_refused',
      'needs_sign_in',
      'no_tokens',
      'unavailable',
    ]),
    title: z.string().max(200),
    message: z.string().max(1000),
    fix: z.string().max(1000),
    resource: z.string().max(512).optional(),
    scopes: scopesSchema.optional(),
    aadsts: z.string().max(10).optional(),
    description: z.string().max(500).optional(),
    correlationId: z.string().max(100).optional(),
    claims: claimsSchema.optional(),
  }),
]);

/** One-time messages shown on the next page: in the session while signed in, in a short cookie once the session is gone. */
export type Notice = z.infer<typeof noticeSchema>;

/** The app's own fields of a session; each is absent until a route sets it. */
const sessionFieldsSchema = z.strictObject({
  /** The signed-in user's database id. */
  userId: z.string().min(1),
  /** When the session was first created, for the absolute lifetime. */
  startedAt: timestampSchema,
  /** When the session's idle expiry was last moved. */
  seenAt: timestampSchema,
  pendingSignIns: z.array(pendingSignInSchema).max(MAX_PENDING_SIGN_INS),
  /** Admin consents started from the page, waiting for Microsoft's answer. */
  pendingAdminConsents: z.array(pendingAdminConsentSchema).max(MAX_PENDING_ADMIN_CONSENTS),
  csrfToken: randomValueSchema,
  /** A one-time message for the next page. */
  notice: noticeSchema,
});

/** The session fields as routes see them (express-session's SessionData is built from these). */
export type SessionFields = z.infer<typeof sessionFieldsSchema>;

/** express-session's cookie as it serializes it (Cookie#toJSON); attributes it leaves undefined are absent from the JSON. */
const storedCookieSchema = z.strictObject({
  originalMaxAge: z.int().nonnegative(),
  expires: isoDateSchema,
  secure: z.boolean(),
  httpOnly: z.boolean(),
  path: z.string(),
  sameSite: z.union([z.boolean(), z.enum(['lax', 'strict', 'none'])]),
});

/**
 * Exactly what this app writes to a session row: express-session's cookie and the app's fields, each with its type,
 * and nothing else. A row holds data from outside the process (any instance, an operator, a restored backup).
 */
const storedSessionSchema = sessionFieldsSchema.partial().extend({ cookie: storedCookieSchema });

/** A session row's data that fits the schema. */
export type StoredSessionData = z.infer<typeof storedSessionSchema>;

/** The outcome of reading a row: its data, or where it fails the schema (a field path and a kind of problem, never a value). */
export type StoredSessionReading = { ok: true; data: StoredSessionData } | { ok: false; field: string; problem: string };

/** Texts of session rows already checked or written here, with their verdict: a session's row changes at most once a minute while it is used. */
const CHECKED_TEXTS = 256;

type StoredSessionVerdict = { ok: true } | { ok: false; field: string; problem: string };
const FITS = Object.freeze({ ok: true as const });

const verdicts = createBoundedMap<StoredSessionVerdict>(CHECKED_TEXTS);

/** The verdict on one row's text: whether it fits the schema, or where and how it fails. */
function verdictOf(column: string): StoredSessionVerdict {
  let verdict = verdicts.get(column);
  if (verdict === undefined) {
    const reading = checkStoredSession(column);
    verdict = reading.ok ? FITS : { ok: false, field: reading.field, problem: reading.problem };
    verdicts.set(column, verdict);
  }
  return verdict;
}

/**
 * Remembers `text`, a session row's data that this process has just written (JSON.stringify of a request's session),
 * as fitting: its own reads of that exact text skip the check, as they skip a text checked before. A row's text is
 * compared whole, so a row changed in the database since (by an operator, a backup, an attacker) or written by
 * another instance is checked like any other (S56): what is skipped is only the check of this process's own output.
 * That output fits because the routes store values typed by this schema and cut to its limits as they set them
 * (resource-routes.ts), and test/integration/written-sessions.test.ts checks the rows each of them writes.
 * The check costs a tenth of a millisecond at each step of a sign-in (bench profile), for text the process wrote itself.
 */
export function rememberWrittenSession(text: string): void {
  verdicts.set(text, FITS);
}

/**
 * Parses a session row's `data` column (JSON text) and checks it against the one schema of a stored session. The verdict
 * is a function of the text alone, so a text checked before (or written by this process) is not checked again; its data is parsed afresh every time
 * (a request changes its session's data).
 */
export function readStoredSession(column: unknown): StoredSessionReading {
  if (typeof column !== 'string') return { ok: false, field: '(row)', problem: 'not_text' };
  const verdict = verdictOf(column);
  return verdict.ok ? { ok: true, data: JSON.parse(column) as StoredSessionData } : verdict;
}

/** The check itself, on every call: whether `column` parses to data that fits the schema. readStoredSession remembers its verdicts. */
export function checkStoredSession(column: string): StoredSessionReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(column);
  } catch {
    return { ok: false, field: '(row)', problem: 'not_json' };
  }
  const result = storedSessionSchema.safeParse(parsed);
  if (result.success) return { ok: true, data: result.data };
  const [issue] = result.error.issues;
  if (issue === undefined) return { ok: false, field: '(root)', problem: 'invalid' };
  // A field the app never writes is named by its key (cut short: the row, not the app, chose it).
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, (issue.keys[0] ?? '').slice(0, 40)] : issue.path;
  return { ok: false, field: fieldPathOf(path), problem: issue.code };
}

/** `cookie.expires`, `pendingSignIns[0].state`; `(root)` for the row's value itself. */
function fieldPathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`)).join('');
}
