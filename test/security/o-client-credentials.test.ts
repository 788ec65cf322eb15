import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { compactVerify, decodeJwt } from 'jose';
import { startIdentityProvider } from '../../dev/idp/index.ts';
import type { ReceivedTokenRequest, StartedIdp } from '../../dev/idp/index.ts';
import { EXIT } from '../../src/cli/token-command.ts';
import { certificateSettings, createTestCertificate, daysFromNow } from '../support/client-certificates.ts';
import type { TestCertificate } from '../support/client-certificates.ts';
import { countRows } from '../support/database.ts';
import { credentialSecretsOf, startHarness, TEST_APP_ID, TEST_APP_KEY } from '../support/harness.ts';
import type { Harness } from '../support/harness.ts';
import type { HttpBrowser } from '../support/http-browser.ts';
import { signIn } from '../support/outcomes.ts';
import { runServer } from '../support/server-process.ts';
import { runTokenScript } from '../support/token-script.ts';
import { startWorkloadPlatform } from '../support/workload-platform.ts';
import type { WorkloadPlatform } from '../support/workload-platform.ts';

const FEDERATED_SUBJECT = 'system:serviceaccount:apps:o365-signin';

/** The token endpoint as the provider's discovery document names it for the app's tenant (common): what `aud` must be. */
async function discoveredTokenEndpoint(harness: Harness): Promise<string> {
  const response = await fetch(`${harness.idp.origin}/${harness.config.tenant}/v2.0/.well-known/openid-configuration`);
  return ((await response.json()) as { token_endpoint: string }).token_endpoint;
}

/** The client assertion the provider received with this jti (the provider records every assertion it was sent). */
function assertionWithId(harness: Harness, jti: unknown): string {
  const found = harness.idp.issuedSecrets.find((value) => value.split('.').length === 3 && safeClaims(value)?.jti === jti);
  assert.ok(found !== undefined, `the provider recorded the assertion with jti ${String(jti)}`);
  return found;
}

function safeClaims(jwt: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(jwt);
  } catch {
    return undefined;
  }
}

/**
 * Empties the tables between tests, leaving the app's clock where it is: `npm run token` runs on the real clock, and the
 * expiry the app stored must look the same to it (resetHarness moves the app's clock on).
 */
async function forgetEveryone(harness: Harness): Promise<void> {
  await harness.database.prisma.user.deleteMany();
  await harness.database.prisma.session.deleteMany();
}

/** Signs a browser in, then reads the CSRF token of the signed-in page's forms. */
async function signInWithForms(harness: Harness): Promise<{ browser: HttpBrowser; csrf: string }> {
  const { browser, callback } = await signIn(harness);
  assert.equal(callback.status, 303, callback.body.slice(0, 500));
  const home = await browser.request(`${harness.baseUrl}/`);
  const csrf = home.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  assert.ok(csrf, 'the signed-in page has forms');
  return { browser, csrf };
}

/** Every check the issue lists for one recorded certificate assertion. */
async function assertCertificateAssertion(
  harness: Harness,
  request: ReceivedTokenRequest,
  certificate: TestCertificate,
  algorithm: 'PS256' | 'RS256' = 'PS256',
): Promise<void> {
  assert.equal(request.clientAuthentication, 'certificate');
  assert.equal(request.clientSecretSent, false, 'no client_secret parameter at all');
  assert.equal(request.status, 200);
  const header = request.assertionHeader ?? {};
  const claims = request.assertionClaims ?? {};
  assert.equal(header.alg, algorithm);
  assert.equal(header.typ, 'JWT');
  assert.equal(header['x5t#S256'], certificate.x5tS256, 'x5t#S256 is the base64url SHA-256 of the certificate DER');
  assert.equal(header.x5t, certificate.x5t, 'x5t is the base64url SHA-1 of the certificate DER');
  assert.equal(claims.aud, await discoveredTokenEndpoint(harness));
  assert.equal(claims.iss, TEST_APP_ID);
  assert.equal(claims.sub, TEST_APP_ID);
  assert.match(String(claims.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(typeof claims.nbf, 'number');
  assert.equal(claims.iat, claims.nbf);
  const lifetime = Number(claims.exp) - Number(claims.nbf);
  assert.ok(lifetime > 0 && lifetime <= 600, `lifetime ${lifetime}s is at most 10 minutes`);
  // Signed with the certificate's key: verified here with the certificate alone.
  const verified = await compactVerify(
    assertionWithId(harness, claims.jti),
    new crypto.X509Certificate(certificate.certificatePem).publicKey,
    {
      algorithms: [algorithm],
    },
  );
  assert.equal(verified.protectedHeader.alg, algorithm);
}

describe('a certificate instead of a client secret', () => {
  let certificate: TestCertificate;
  let harness: Harness;
  before(async () => {
    certificate = await createTestCertificate();
    // Two-minute access tokens: every page load refreshes (inside the five-minute margin).
    harness = await startHarness({
      env: certificateSettings(certificate),
      registration: { certificates: [certificate.certificatePem] },
      accessTokenTtlSeconds: 120,
    });
  });
  after(async () => {
    await harness.close();
    certificate.remove();
  });
  beforeEach(async () => {
    await forgetEveryone(harness);
  });

  it('S59: when a person signs in with a certificate, then the code redemption carries a client assertion (PS256, typ JWT, x5t#S256 and x5t of the certificate, aud = the discovered token endpoint, iss = sub = the client id, nbf = iat, at most 10 minutes) and no client_secret', async () => {
    const count = harness.idp.tokenRequests.length;
    await signInWithForms(harness);
    const [redemption] = harness.idp.tokenRequests.slice(count);
    assert.equal(redemption?.grantType, 'authorization_code');
    await assertCertificateAssertion(harness, redemption, certificate);
  });

  it('S59: when the token is refreshed before expiry, with Refresh now and by npm run token, then every request carries a new assertion (a jti never seen before) and the provider never received a client_secret', async () => {
    const count = harness.idp.tokenRequests.length;
    const { browser, csrf } = await signInWithForms(harness);
    const newRefreshes = async (step: () => Promise<void>, what: string) => {
      const before = harness.idp.tokenRequests.length;
      await step();
      const made = harness.idp.tokenRequests.slice(before).map((request) => request.grantType);
      assert.ok(made.length >= 1 && made.every((grant) => grant === 'refresh_token'), `${what} refreshed: ${made.join(', ')}`);
    };
    await newRefreshes(async () => {
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    }, 'a page load inside the five-minute margin');
    await newRefreshes(async () => {
      assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 303);
    }, 'Refresh now');
    await newRefreshes(async () => {
      const cli = await runTokenScript(harness, [], certificateSettings(certificate));
      assert.equal(cli.code, EXIT.ok, cli.stderr);
    }, 'npm run token');

    const requests = harness.idp.tokenRequests.slice(count);
    assert.equal(requests[0]?.grantType, 'authorization_code');
    for (const request of requests) await assertCertificateAssertion(harness, request, certificate);
    const ids = requests.map((request) => request.assertionClaims?.jti);
    assert.equal(new Set(ids).size, ids.length, 'a new jti for each request');
    assert.ok(
      harness.idp.tokenRequests.every((request) => !request.clientSecretSent && request.clientAuthentication === 'certificate'),
      'the provider never received a client_secret from this app',
    );
  });

  it('S59: when tokens for other APIs are asked for with a certificate, on the page and by npm run token --resource, then each token request carries a new assertion and never a client_secret', async () => {
    const { browser, csrf } = await signInWithForms(harness);
    const count = harness.idp.tokenRequests.length;
    const outlook = await browser.request(`${harness.baseUrl}/resources`, {
      form: { _csrf: csrf, resource: 'https://outlook.office.com' },
    });
    assert.equal(outlook.status, 303, outlook.body.slice(0, 300));
    const cli = await runTokenScript(harness, ['--resource', 'https://management.azure.com'], certificateSettings(certificate));
    assert.equal(cli.code, EXIT.ok, cli.stderr);

    const requests = harness.idp.tokenRequests.slice(count);
    assert.deepEqual(
      requests.map((request) => request.resource),
      ['https://outlook.office.com', 'https://management.azure.com'],
      'one token request per API, each for its own resource',
    );
    for (const request of requests) await assertCertificateAssertion(harness, request, certificate);
    const ids = requests.map((request) => request.assertionClaims?.jti);
    assert.equal(new Set(ids).size, ids.length, 'a new jti for each request');
  });

  it('S59: when O365_APP_KEY is empty and the key file is deleted after the start, then sign-ins still work: the key was read once, at start', async () => {
    const keyCopy = `${certificate.keyPath}.kept`;
    fs.copyFileSync(certificate.keyPath, keyCopy);
    fs.rmSync(certificate.keyPath);
    try {
      const { callback } = await signIn(harness);
      assert.equal(callback.status, 303, callback.body.slice(0, 300));
      assert.equal(harness.idp.tokenRequests.at(-1)?.clientAuthentication, 'certificate');
    } finally {
      fs.renameSync(keyCopy, certificate.keyPath);
    }
  });

  it('S59: when signed in, then the footer names the certificate by its SHA-256 thumbprint, and no page or log line holds the private key', async () => {
    const { browser } = await signInWithForms(harness);
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.match(
      home.body,
      new RegExp(
        `The app signs in to Microsoft with its <span data-credential>certificate, SHA-256 thumbprint ${certificate.sha256Hex} \\(PS256\\)</span>`,
      ),
    );
    const signedOut = await harness.browser().request(`${harness.baseUrl}/`);
    assert.doesNotMatch(signedOut.body, /data-credential/, 'a visitor who is not signed in is not told');
    const keyLines = credentialSecretsOf(harness.config);
    assert.ok(keyLines.length >= 20, 'the key has its PEM lines');
    const logs = harness.logs.join('\n');
    for (const line of keyLines) {
      assert.ok(!home.body.includes(line) && !logs.includes(line), 'no line of the private key is shown or logged');
    }
  });
});

describe('a certificate and O365_CLIENT_ASSERTION_ALG=RS256', () => {
  it('S59: when the algorithm is RS256, then the assertion is signed RS256 with the same header and claims', async () => {
    const certificate = await createTestCertificate();
    const harness = await startHarness({
      env: { ...certificateSettings(certificate), O365_CLIENT_ASSERTION_ALG: 'RS256' },
      registration: { certificates: [certificate.certificatePem] },
    });
    try {
      await signInWithForms(harness);
      await assertCertificateAssertion(harness, harness.idp.tokenRequests.at(-1)!, certificate, 'RS256');
    } finally {
      await harness.close();
      certificate.remove();
    }
  });
});

describe('a certificate that is not registered on the app', () => {
  let used: TestCertificate;
  let registered: TestCertificate;
  let harness: Harness;
  before(async () => {
    [used, registered] = await Promise.all([createTestCertificate(), createTestCertificate()]);
    harness = await startHarness({ env: certificateSettings(used), registration: { certificates: [registered.certificatePem] } });
  });
  after(async () => {
    await harness.close();
    used.remove();
    registered.remove();
  });

  it('S59: when Microsoft answers AADSTS700027, then the page explains how to upload the certificate and prints the thumbprints the app uses, nothing is stored, and the server keeps serving', async () => {
    const { browser, callback } = await signIn(harness);
    assert.equal(callback.status, 502);
    assert.match(callback.body, /<h1 id="error-heading">Microsoft does not accept the app&#39;s certificate<\/h1>/);
    assert.ok(
      callback.body.includes(`thumbprint is ${used.sha1Hex} (SHA-256 ${used.sha256Hex})`),
      'both thumbprints, to compare with the portal',
    );
    assert.match(callback.body, /Certificates &amp; secrets › Certificates › Upload certificate/);
    assert.ok(callback.body.includes(`az ad app credential reset --id ${TEST_APP_ID} --cert @&lt;that file&gt; --append`));
    assert.ok(callback.body.includes('<code>AADSTS700027</code>'));
    assert.ok(
      callback.body.includes(`Thumbprint of key used by client: &#39;${used.sha1Hex}&#39;`),
      "Microsoft's own words in the details",
    );
    assert.deepEqual(await countRows(harness.database.prisma), { users: 0, tokenSets: 0, signedInSessions: 0 });
    assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    assert.equal((await fetch(`${harness.baseUrl}/healthz`)).status, 200);
    const refused = harness.idp.tokenRequests.at(-1);
    assert.equal(refused?.status, 401);
    assert.equal(refused?.clientSecretSent, false);
  });
});

describe('a federated credential (a platform token in a file)', () => {
  let platform: WorkloadPlatform;
  let folder: string;
  let tokenFile: string;
  let harness: Harness;
  const writeToken = async (options: { expiresInSeconds?: number } = {}) => {
    const token = await platform.issueToken(FEDERATED_SUBJECT, options);
    fs.writeFileSync(tokenFile, `${token}\n`);
    return token;
  };
  before(async () => {
    platform = await startWorkloadPlatform();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-federated-'));
    tokenFile = path.join(folder, 'azure-identity-token');
    await writeToken();
    harness = await startHarness({
      env: { O365_APP_KEY: '', O365_CLIENT_ASSERTION_FILE: tokenFile },
      registration: {
        federatedCredentials: [{ issuer: platform.issuer, subject: FEDERATED_SUBJECT, audiences: ['api://AzureADTokenExchange'] }],
      },
    });
  });
  after(async () => {
    await harness.close();
    await platform.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await forgetEveryone(harness);
    await writeToken();
  });

  it("S60: when the platform rotates the token file between two token requests, then each request carries the file's content of that moment, and no token is logged", async () => {
    const first = await writeToken();
    const { browser, csrf } = await signInWithForms(harness);
    const redemption = harness.idp.tokenRequests.at(-1);
    assert.equal(redemption?.grantType, 'authorization_code');
    assert.equal(redemption?.clientAuthentication, 'federated');
    assert.equal(redemption?.clientSecretSent, false);
    assert.equal(redemption?.assertionClaims?.jti, decodeJwt(first).jti);

    const second = await writeToken();
    assert.equal((await browser.request(`${harness.baseUrl}/refresh`, { form: { _csrf: csrf } })).status, 303);
    const refresh = harness.idp.tokenRequests.at(-1);
    assert.equal(refresh?.grantType, 'refresh_token');
    assert.equal(refresh?.status, 200);
    assert.equal(refresh?.assertionClaims?.jti, decodeJwt(second).jti, 'the rotated token, read again');
    const logs = harness.logs.join('\n');
    assert.ok(!logs.includes(first) && !logs.includes(second), 'the platform tokens are never logged');
  });

  for (const [state, prepare, problem] of [
    ['missing', () => fs.rmSync(tokenFile), /\(O365_CLIENT_ASSERTION_FILE\) does not exist/],
    ['empty', () => fs.writeFileSync(tokenFile, '\n'), /\(O365_CLIENT_ASSERTION_FILE\) is empty/],
    ['expired', () => writeToken({ expiresInSeconds: -60 }), /\(O365_CLIENT_ASSERTION_FILE\) holds a token that expired at /],
  ] as const) {
    it(`S60: when the token file is ${state} at a sign-in, then the page explains the federated credential, nothing is posted or stored, and the server keeps serving`, async () => {
      await prepare();
      const requests = harness.idp.tokenRequestCount();
      const { browser, callback } = await signIn(harness);
      assert.equal(callback.status, 503);
      assert.match(callback.body, /The app cannot read its federated credential/);
      assert.match(callback.body, problem);
      assert.match(callback.body, /azure\.workload\.identity\/use/);
      assert.equal(harness.idp.tokenRequestCount(), requests, 'no token request without a usable token');
      assert.deepEqual(await countRows(harness.database.prisma), { users: 0, tokenSets: 0, signedInSessions: 0 });
      assert.equal((await browser.request(`${harness.baseUrl}/`)).status, 200);
    });
  }
});

describe('a client secret', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('when the app uses a client secret, then the signed-in footer says so and never shows it, and the provider records client_secret_post', async () => {
    const { browser } = await signInWithForms(harness);
    const home = await browser.request(`${harness.baseUrl}/`);
    assert.match(home.body, /The app signs in to Microsoft with its <span data-credential>client secret \(O365_APP_KEY\)<\/span>/);
    assert.ok(!home.body.includes(TEST_APP_KEY));
    const redemption = harness.idp.tokenRequests.at(-1);
    assert.equal(redemption?.clientAuthentication, 'secret');
    assert.equal(redemption?.clientSecretSent, true);
    assert.equal(redemption?.assertionHeader, undefined);
  });
});

describe('npm start with a certificate or a federated token file', () => {
  let idp: StartedIdp;
  let good: TestCertificate;
  let other: TestCertificate;
  let expired: TestCertificate;
  let encrypted: TestCertificate;
  let folder: string;
  before(async () => {
    [good, other, expired, encrypted] = await Promise.all([
      createTestCertificate(),
      createTestCertificate(),
      createTestCertificate(daysFromNow(-400, -1)),
      createTestCertificate({ ...daysFromNow(-1, 10), passphrase: 'correct horse battery staple' }),
    ]);
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-start-credentials-'));
    fs.writeFileSync(path.join(folder, 'certificate.der'), new crypto.X509Certificate(good.certificatePem).raw);
    idp = await startIdentityProvider({
      port: 0,
      clients: [
        { clientId: TEST_APP_ID, certificates: [encrypted.certificatePem], redirectUris: ['http://127.0.0.1:5999/connect/get_token'] },
      ],
    });
  });
  after(async () => {
    await idp.close();
    for (const certificate of [good, other, expired, encrypted]) certificate.remove();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Everything npm start needs but the credential, against the local provider, with a database in the test's folder. */
  const settings = (credential: Record<string, string>): Record<string, string> => ({
    O365_APP_ID: TEST_APP_ID,
    O365_AUTHORITY_HOST: idp.origin,
    BASE_URL: 'http://127.0.0.1:5999',
    PORT: '0',
    DATABASE_URL: `file:${path.join(folder, `${crypto.randomUUID()}.db`)}`,
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    ...credential,
  });

  // The certificate's start checks are S59's; a missing token file is the federated credential's own start check.
  const REFUSALS: { when: string; credential: () => Record<string, string>; setting: string; says: RegExp }[] = [
    {
      when: 'the certificate file does not exist',
      credential: () => ({ O365_APP_CERT_PATH: path.join(folder, 'missing.pem'), O365_APP_CERT_KEY_PATH: good.keyPath }),
      setting: 'O365_APP_CERT_PATH',
      says: /does not exist: give the path of the certificate \(PEM\)/,
    },
    {
      // As root every file is readable: a folder is the unreadable path a test can make here.
      when: 'the certificate path cannot be read as a file',
      credential: () => ({ O365_APP_CERT_PATH: folder, O365_APP_CERT_KEY_PATH: good.keyPath }),
      setting: 'O365_APP_CERT_PATH',
      says: /is a folder/,
    },
    {
      when: 'the certificate file is not PEM (DER)',
      credential: () => ({ O365_APP_CERT_PATH: path.join(folder, 'certificate.der'), O365_APP_CERT_KEY_PATH: good.keyPath }),
      setting: 'O365_APP_CERT_PATH',
      says: /is not a PEM certificate/,
    },
    {
      when: 'the certificate setting names the key',
      credential: () => ({ O365_APP_CERT_PATH: good.keyPath, O365_APP_CERT_KEY_PATH: good.keyPath }),
      setting: 'O365_APP_CERT_PATH',
      says: /holds a private key, not a certificate/,
    },
    {
      when: 'the certificate has expired',
      credential: () => ({ O365_APP_CERT_PATH: expired.certificatePath, O365_APP_CERT_KEY_PATH: expired.keyPath }),
      setting: 'O365_APP_CERT_PATH',
      says: /expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC: make a new certificate/,
    },
    {
      when: 'the key file is not given',
      credential: () => ({ O365_APP_CERT_PATH: good.certificatePath }),
      setting: 'O365_APP_CERT_KEY_PATH',
      says: /is missing: set it to the private key \(PEM\)/,
    },
    {
      when: 'the key file does not exist',
      credential: () => ({ O365_APP_CERT_PATH: good.certificatePath, O365_APP_CERT_KEY_PATH: path.join(folder, 'missing-key.pem') }),
      setting: 'O365_APP_CERT_KEY_PATH',
      says: /does not exist: give the path of the private key \(PEM\)/,
    },
    {
      when: 'the key file is not PEM',
      credential: () => ({ O365_APP_CERT_PATH: good.certificatePath, O365_APP_CERT_KEY_PATH: path.join(folder, 'certificate.der') }),
      setting: 'O365_APP_CERT_KEY_PATH',
      says: /is not a PEM private key/,
    },
    {
      when: "the key is another certificate's",
      credential: () => ({ O365_APP_CERT_PATH: good.certificatePath, O365_APP_CERT_KEY_PATH: other.keyPath }),
      setting: 'O365_APP_CERT_KEY_PATH',
      says: new RegExp(`is not the private key of the certificate in O365_APP_CERT_PATH .* \\(thumbprint ${'[0-9A-F]{40}'}\\)`),
    },
    {
      when: 'the key is encrypted and no passphrase is set',
      credential: () => ({ O365_APP_CERT_PATH: encrypted.certificatePath, O365_APP_CERT_KEY_PATH: encrypted.keyPath }),
      setting: 'O365_APP_CERT_KEY_PASSPHRASE',
      says: /is missing: the key in .* is encrypted; set its passphrase/,
    },
    {
      when: 'the passphrase is wrong',
      credential: () => ({
        O365_APP_CERT_PATH: encrypted.certificatePath,
        O365_APP_CERT_KEY_PATH: encrypted.keyPath,
        O365_APP_CERT_KEY_PASSPHRASE: 'not the passphrase',
      }),
      setting: 'O365_APP_CERT_KEY_PASSPHRASE',
      says: /does not open the key in .*: check the passphrase/,
    },
    {
      when: 'both a client secret and a certificate are set',
      credential: () => ({ O365_APP_KEY: TEST_APP_KEY, O365_APP_CERT_PATH: good.certificatePath, O365_APP_CERT_KEY_PATH: good.keyPath }),
      setting: 'O365_APP_KEY',
      says: /O365_APP_KEY and O365_APP_CERT_PATH are all set: choose one credential/,
    },
    {
      when: 'the federated token file does not exist',
      credential: () => ({ O365_CLIENT_ASSERTION_FILE: path.join(folder, 'no-token') }),
      setting: 'O365_CLIENT_ASSERTION_FILE',
      says: /does not exist: give the path of the token file the platform writes/,
    },
    {
      when: "Azure workload identity's AZURE_FEDERATED_TOKEN_FILE does not exist",
      credential: () => ({ AZURE_FEDERATED_TOKEN_FILE: path.join(folder, 'no-token') }),
      setting: 'AZURE_FEDERATED_TOKEN_FILE',
      says: /does not exist: give the path of the token file the platform writes/,
    },
  ];

  for (const { when, credential, setting, says } of REFUSALS) {
    const line = setting.includes('CERT') || setting === 'O365_APP_KEY' ? 'S59: ' : '';
    it(`${line}when ${when}, then npm start exits 1 with one line that names ${setting}, and no stack trace`, async () => {
      const run = await runServer(settings(credential()));
      assert.equal(run.code, 1, run.stdout);
      const problems = run.stderr.split('\n').filter((line) => line.startsWith('  - '));
      assert.equal(problems.length, 1, run.stderr);
      assert.ok(problems[0]!.startsWith(`  - ${setting} `), problems[0]);
      assert.match(problems[0]!, says);
      assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
      for (const key of [good, other, expired, encrypted])
        assert.ok(!run.stderr.includes(key.privateKeyPem.split('\n')[1]!), 'no key in the output');
    });
  }

  it('S59: when the certificate expires within 30 days and its encrypted key is readable by others, then npm start warns about both with the date, runs, and names the certificate in its start log', async () => {
    fs.chmodSync(encrypted.keyPath, 0o644);
    const run = await runServer(
      settings({
        O365_APP_CERT_PATH: encrypted.certificatePath,
        O365_APP_CERT_KEY_PATH: encrypted.keyPath,
        O365_APP_CERT_KEY_PASSPHRASE: 'correct horse battery staple',
      }),
      /Client credential: /,
      async (url) => {
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
      },
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const expiry = new crypto.X509Certificate(encrypted.certificatePem).validTo;
    const date = new Date(expiry).toISOString().slice(0, 10);
    assert.match(
      run.stderr,
      new RegExp(`^warning: O365_APP_CERT_PATH ".*" expires on ${date} \\d\\d:\\d\\d UTC \\(in 9 days\\): make a new certificate`, 'm'),
    );
    assert.match(
      run.stderr,
      /^warning: O365_APP_CERT_KEY_PATH ".*" can be read by other users \(mode 0644\): restrict it with chmod 600\.$/m,
    );
    const credentialLine = `certificate, SHA-256 thumbprint ${encrypted.sha256Hex} (PS256)`;
    assert.ok(run.stdout.includes(`Client credential: ${credentialLine}`), run.stdout);
    assert.ok(run.stderr.includes(`"credential":"${credentialLine}"`), 'the listening line names the credential');
    assert.ok(!run.stderr.includes('correct horse battery staple') && !run.stdout.includes('correct horse battery staple'));
  });
});
