// Development only: the AADSTS errors Microsoft returns for client credentials at the token endpoint (secret, certificate
// assertion, federated assertion), worded as observed in real responses (notes: research-16-17 §8).
import type { AadError } from './microsoft-errors.ts';

/** A refusal of the client's credential: the HTTP status, the OAuth error and the AADSTS error. */
export interface CredentialRefusal {
  status: 400 | 401;
  error: 'invalid_client' | 'invalid_request';
  aad: AadError;
}

const GRAPH_DEPLOYMENTS =
  'Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and ' +
  'https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as ';
const FEDERATION_DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

/** The key window Microsoft prints for a registered certificate: 'Start=06/29/2021 21:13:15, End=06/29/2023 21:13:15'. */
export function keyWindow(notBefore: Date, notAfter: Date): string {
  const format = (date: Date) => {
    const [day, time] = date.toISOString().split('T') as [string, string];
    const [year, month, dayOfMonth] = day.split('-');
    return `${month}/${dayOfMonth}/${year} ${time.slice(0, 8)}`;
  };
  return `Start=${format(notBefore)}, End=${format(notAfter)}`;
}

/** Microsoft's times in 700024: 2024-05-28T06:01:42.5853621Z (seven fraction digits). */
function aadTime(epochSeconds: number | undefined): string {
  return new Date((epochSeconds ?? 0) * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

const refuse = (status: 400 | 401, error: CredentialRefusal['error'], code: number, text: string): CredentialRefusal => ({
  status,
  error,
  aad: { code, text },
});

/** Every credential refusal the local provider makes, by cause. */
export const CREDENTIAL_REFUSALS = {
  /** Neither client_secret nor client_assertion (AADSTS7000218). */
  noCredential: () =>
    refuse(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  invalidSecret: (clientId: string) =>
    refuse(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  wrongAssertionType: () =>
    refuse(
      400,
      'invalid_request',
      90100,
      'Invalid request. client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
    ),
  malformed: (reason?: string) =>
    refuse(401, 'invalid_client', 50027, `JWT token is invalid or malformed.${reason === undefined ? '' : ` [Reason - ${reason}]`}`),
  noThumbprint: () => refuse(401, 'invalid_client', 50027, 'Invalid JWT token. No certificate thumbprint specified in token header.'),
  unsupportedAlgorithm: () => refuse(400, 'invalid_request', 5002730, 'Invalid JWT token. Unsupported key for the signing algorithm.'),
  certificateNotRegistered: (thumbprint: string, clientId: string) =>
    refuse(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., ` +
        `Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'. ` +
        `${GRAPH_DEPLOYMENTS}'https://graph.microsoft.com/beta/applications/${clientId}']`,
    ),
  certificateExpired: (thumbprint: string, window: string) =>
    refuse(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - The key used is expired. Thumbprint of key used by client: '${thumbprint}', Found key '${window}'`,
    ),
  signatureInvalid: (thumbprint: string, window: string, clientId: string) =>
    refuse(
      401,
      'invalid_client',
      700027,
      `Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${thumbprint}', ` +
        `Found key '${window}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    ),
  /** The documented wording of 700027, for a federated token whose signature the issuer's keys do not verify. */
  federatedSignatureInvalid: (reason: string) =>
    refuse(401, 'invalid_client', 700027, `Client assertion failed signature validation. [Reason - ${reason}]`),
  audienceMismatch: () => refuse(401, 'invalid_client', 50012, 'Client assertion audience claim does not match Realm issuer.'),
  subjectNotIssuer: () => refuse(401, 'invalid_client', 50048, 'Subject must match the issuer claim in the client assertion.'),
  outsideValidTime: (now: number, notBefore: number | undefined, expiry: number | undefined) =>
    refuse(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${aadTime(now)}, assertion valid from ${aadTime(notBefore)}, ` +
        `expiry time of assertion ${aadTime(expiry)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    ),
  noFederatedRecord: (issuer: string, subject: string, audience: string) =>
    refuse(
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. ` +
        `Assertion Audience: '${audience}'. ${FEDERATION_DOC}`,
    ),
  /** The issuer (AADSTS700211) or audience (AADSTS700212; not seen in a real response, worded like 700211) matches no record. */
  federatedClaimMismatch: (claim: 'issuer' | 'audience', value: string) =>
    refuse(
      401,
      'invalid_client',
      claim === 'issuer' ? 700211 : 700212,
      `No matching federated identity record found for presented assertion ${claim} '${value}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FEDERATION_DOC}`,
    ),
  /** Case-sensitive since 2024/25: a subject that differs only in case gets its own code (Azure/login#515). */
  federatedSubjectMismatch: (subject: string, caseOnly: boolean) =>
    refuse(
      401,
      'invalid_client',
      caseOnly ? 7002138 : 700213,
      `No matching federated identity record found for presented assertion subject '${subject}'. ` +
        `${caseOnly ? 'The subject matches with case-insensitive comparison, but not with case-sensitive comparison.' : 'Check your federated identity credential Subject, Audience and Issuer against the presented assertion.'} ${FEDERATION_DOC}`,
    ),
} as const;
