// Only the demos import this: loading oidc-provider would slow `npm run token` and print its runtime warning there.
import type { Config } from '../src/config.ts';
import { demoClientRegistration } from './demo-settings.ts';
import { startIdentityProvider } from './idp/index.ts';
import type { ReceivedTokenRequest, StartedIdp } from './idp/index.ts';

/** One line of the provider's log for a token request: what credential it carried, never a secret or token. */
export function describeTokenRequest(request: ReceivedTokenRequest): string {
  const parts = [`grant_type=${request.grantType ?? '(none)'}`, `client authentication: ${request.clientAuthentication}`];
  if (request.assertionHeader !== undefined) {
    const { alg, typ, x5t, 'x5t#S256': x5tS256 } = request.assertionHeader;
    parts.push(`assertion header alg=${String(alg)} typ=${String(typ)} x5t=${String(x5t)} x5t#S256=${String(x5tS256)}`);
  }
  if (request.assertionClaims !== undefined) {
    const { aud, iss, sub, jti, nbf, exp } = request.assertionClaims;
    const lifetime = typeof exp === 'number' && typeof nbf === 'number' ? `${exp - nbf}s` : '?';
    parts.push(`claims aud=${String(aud)} iss=${String(iss)} sub=${String(sub)} jti=${String(jti)} lifetime=${lifetime}`);
  }
  parts.push(`client_secret sent: ${request.clientSecretSent ? 'yes' : 'no'}`, `answer ${request.status}`);
  return `[local provider] token request: ${parts.join('; ')}`;
}

/**
 * The demo's local identity provider on loopback, with the app's registration (its secret and, once made, its certificate),
 * redirect URI and sign-out return. Each token request is printed, so the terminal shows which credential the app sent.
 */
export function startDemoIdentityProvider(config: Config, port: number): Promise<StartedIdp> {
  return startIdentityProvider({
    port,
    host: '127.0.0.1',
    clients: [
      {
        clientId: config.appId,
        ...demoClientRegistration(),
        redirectUris: [config.redirectUri],
        postLogoutRedirectUris: [`${config.baseUrl}/`],
      },
    ],
    onTokenRequestRecorded: (request) => console.log(`  ${describeTokenRequest(request)}`),
  });
}
