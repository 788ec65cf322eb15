import type { ClientCertificate } from './client-certificate.ts';

/** The signature algorithm of certificate assertions: Microsoft documents PS256 today; RS256 for tenants that still expect it. */
export type AssertionAlgorithm = 'PS256' | 'RS256';

/** The setting that named the federated token file. */
export type FederatedTokenSetting = 'O365_CLIENT_ASSERTION_FILE' | 'AZURE_FEDERATED_TOKEN_FILE';

/**
 * How the app proves who it is at the token endpoint: exactly one of a client secret (client_secret_post), a certificate
 * (a client assertion it signs per request) or a federated credential (a platform-issued token file, sent as the assertion).
 */
export type ClientCredential =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'certificate'; readonly certificate: ClientCertificate; readonly algorithm: AssertionAlgorithm }
  | { readonly kind: 'federated'; readonly tokenFile: string; readonly setting: FederatedTokenSetting };

/** The credential in words for the start log and the page footer: its kind and public facts, never a secret or key. */
export function describeClientCredential(credential: ClientCredential): string {
  switch (credential.kind) {
    case 'secret':
      return 'client secret (O365_APP_KEY)';
    case 'certificate':
      return `certificate, SHA-256 thumbprint ${credential.certificate.thumbprints.sha256Hex} (${credential.algorithm})`;
    case 'federated':
      return `federated credential (token file from ${credential.setting})`;
  }
}
