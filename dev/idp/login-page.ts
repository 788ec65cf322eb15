// Development only: the sign-in page of the local identity provider (sign-in and consent in one step).
import { TEST_PASSWORD } from './accounts.ts';
import { escapeHtml, page } from './html.ts';
import type { TestAccount } from './types.ts';

/** What the sign-in page shows. */
export interface SignInPageModel {
  /** Interaction id; the form posts to /interaction/{uid}. */
  uid: string;
  clientId: string;
  scopes: readonly string[];
  accounts: readonly TestAccount[];
  email?: string | undefined;
  error?: string | undefined;
}

/** Title of the sign-in page. */
export const SIGN_IN_TITLE = 'Sign in — local Microsoft identity provider (development only)';

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Sign you in',
  profile: 'View your basic profile',
  email: 'View your email address',
  offline_access: 'Maintain access to data you have given it access to',
  'User.Read': 'Sign you in and read your profile',
};

/** Path of the sign-in page; its form posts back to the same path. */
export function interactionPath(uid: string): string {
  return `/interaction/${encodeURIComponent(uid)}`;
}

/** Renders the sign-in page: requested permissions, the Email/Password form, Cancel and the test accounts. */
export function renderSignInPage(model: SignInPageModel): string {
  const permissions = model.scopes
    .map((scope) => `<li>${escapeHtml(SCOPE_TEXT[scope] ?? 'Use this permission')} <code>${escapeHtml(scope)}</code></li>`)
    .join('\n');
  const accounts = model.accounts
    .map(
      (account) =>
        `<tr><td>${escapeHtml(account.displayName)}</td><td><code>${escapeHtml(account.username)}</code></td><td>${escapeHtml(account.jobTitle)}</td></tr>`,
    )
    .join('\n');
  const error = model.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(model.error)}</p>`;

  return page(
    SIGN_IN_TITLE,
    `<h1>Sign in</h1>
<p>Application (client) ID: <code>${escapeHtml(model.clientId)}</code></p>
<h2>o365-signin wants to:</h2>
<ul>
${permissions}
</ul>
${error}
<form method="post" action="${escapeHtml(interactionPath(model.uid))}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(model.email ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="action" value="sign-in" class="primary">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>
<p>Signing in also grants the permissions listed above.</p>
<h2>Test accounts</h2>
<p>Every account uses the password <code>${escapeHtml(TEST_PASSWORD)}</code>.</p>
<table>
<thead><tr><th>Name</th><th>Email</th><th>Job title</th></tr></thead>
<tbody>
${accounts}
</tbody>
</table>`,
  );
}
