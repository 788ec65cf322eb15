// Development only: error and sign-out pages of the local identity provider.
import { escapeHtml, page } from './html.ts';
import { type AadError, type TraceInfo, newTraceInfo } from './microsoft-errors.ts';

/** Microsoft-style "trouble signing you in" page for errors that cannot be sent back to the client. */
export function renderErrorPage(aad: AadError, trace: TraceInfo = newTraceInfo()): string {
  return page(
    'Sign in — error — local Microsoft identity provider (development only)',
    `<h1>Sorry, but we’re having trouble signing you in.</h1>
<p class="error" role="alert">AADSTS${aad.code}: ${escapeHtml(aad.text)}</p>
<dl>
<dt>Request Id</dt><dd><code>${escapeHtml(trace.traceId)}</code></dd>
<dt>Correlation Id</dt><dd><code>${escapeHtml(trace.correlationId)}</code></dd>
<dt>Timestamp</dt><dd><code>${escapeHtml(trace.timestamp)}</code></dd>
</dl>`,
  );
}

/**
 * Sign-out confirmation. `formHtml` is oidc-provider's form (action and xsrf field); the button adds
 * logout=yes. With `autoSubmit` (the client sent id_token_hint or logout_hint, so Microsoft would not
 * ask which account) an inline script submits it at once.
 */
export function renderSignOutPage(formHtml: string, autoSubmit: boolean): string {
  const script = autoSubmit ? `<script>document.getElementById('sign-out').click();</script>` : '';
  return page(
    'Sign out — local Microsoft identity provider (development only)',
    `<h1>Sign out</h1>
<p>Sign out of the local identity provider and return to the application?</p>
${formHtml}
<div class="actions">
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="sign-out" class="primary">Sign out</button>
</div>
${script}`,
  );
}

/** Shown after sign-out when the client gave no post_logout_redirect_uri. */
export function renderSignedOutPage(): string {
  return page(
    'Signed out — local Microsoft identity provider (development only)',
    `<h1>You signed out of your account</h1>
<p>It’s a good idea to close all browser windows.</p>`,
  );
}
