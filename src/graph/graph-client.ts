/** What Microsoft Graph said about the signed-in user, or why it refused. */
export type GraphMeResult =
  | { ok: true; displayName: string; mail: string; userPrincipalName: string }
  | { ok: false; status: number; code: string; message: string; requestId: string | undefined };

/** GET {graphBaseUrl}/v1.0/me with the access token; never throws for an HTTP answer, only reads it. */
export async function fetchGraphMe(graphBaseUrl: string, accessToken: string, timeoutMs: number): Promise<GraphMeResult> {
  let response: Response;
  try {
    response = await fetch(`${graphBaseUrl}/v1.0/me`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return {
      ok: false,
      status: 0,
      code: timedOut ? 'Timeout' : 'NetworkError',
      message: timedOut ? `Microsoft Graph did not answer within ${timeoutMs} ms.` : 'Microsoft Graph could not be reached.',
      requestId: undefined,
    };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 300) : '');
  if (response.ok) {
    return { ok: true, displayName: text(fields.displayName), mail: text(fields.mail), userPrincipalName: text(fields.userPrincipalName) };
  }
  const error = (typeof fields.error === 'object' && fields.error !== null ? fields.error : {}) as Record<string, unknown>;
  const inner = (typeof error.innerError === 'object' && error.innerError !== null ? error.innerError : {}) as Record<string, unknown>;
  return {
    ok: false,
    status: response.status,
    code: text(error.code) || `HTTP ${response.status}`,
    message: text(error.message) || 'Microsoft Graph refused the request.',
    requestId: text(inner['request-id']) || response.headers.get('request-id') || undefined,
  };
}
