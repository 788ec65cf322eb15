// Development only: what `npm run demo -- --instances N` prints once everything serves (kept apart to be tested).
import { redactDatabaseUrl } from '../src/db/database-url.ts';

/** The running several-instance demo, as its banner describes it. */
export interface SeveralInstancesRun {
  readonly baseUrl: string;
  readonly proxyUrl: string;
  readonly instances: readonly { readonly name: string; readonly port: number }[];
  /** The embedded PostgreSQL's URL, password included: printed without it. */
  readonly databaseUrl: string;
  readonly idpOrigin: string;
  /** The app's credential in words (describeClientCredential): a secret or a certificate with its thumbprint. */
  readonly credential: string;
  readonly account: { readonly username: string; readonly password: string };
}

/**
 * The banner's lines. The PostgreSQL URL is shown without its password (terminals are shared, scrolled back and
 * logged); `npm run token -- --demo` reads the URL from the demo's record in data/, never from this text.
 */
export function severalInstancesBanner(run: SeveralInstancesRun): string[] {
  return [
    '',
    `  o365-signin demo with ${run.instances.length} instances is running: open ${run.baseUrl}/`,
    `  Round-robin proxy (not sticky) on ${run.proxyUrl} → ${run.instances.map(({ name, port }) => `${name} on port ${port}`).join(', ')}`,
    `  PostgreSQL (embedded, in a temporary folder removed when the demo stops): ${redactDatabaseUrl(run.databaseUrl)}`,
    `  Local identity provider (development only): ${run.idpOrigin}`,
    `  The app signs in to the provider with its ${run.credential}.`,
    `  Test account: ${run.account.username}   password: ${run.account.password}`,
    '  A token for scripts, while the demo runs: npm run -s token -- --demo',
    "  Every page's footer names the instance that served it. Press Ctrl-C to stop everything.",
    '',
  ];
}
