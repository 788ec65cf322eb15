// Only the demos import this: loading oidc-provider would slow `npm run token` and print its runtime warning there.
import type { Config } from '../src/config.ts';
import { startIdentityProvider } from './idp/index.ts';
import type { StartedIdp } from './idp/index.ts';

/** The demo's local identity provider on loopback, with the app's registration: its secret, redirect URI and sign-out return. */
export function startDemoIdentityProvider(config: Config, port: number): Promise<StartedIdp> {
  return startIdentityProvider({
    port,
    host: '127.0.0.1',
    clients: [
      {
        clientId: config.appId,
        clientSecret: config.appKey,
        redirectUris: [config.redirectUri],
        postLogoutRedirectUris: [`${config.baseUrl}/`],
      },
    ],
  });
}
