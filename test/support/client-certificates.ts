import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSelfSignedCertificate, writeCertificateFiles } from '../../src/setup/self-signed-certificate.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and key written for a test, with the thumbprints computed here, independently of the app's code. */
export interface TestCertificate {
  readonly folder: string;
  readonly certificatePath: string;
  readonly keyPath: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** base64url SHA-256 and SHA-1 of the DER: the x5t#S256 and x5t headers an assertion must carry. */
  readonly x5tS256: string;
  readonly x5t: string;
  /** Upper-case hex, as the Entra portal shows them. */
  readonly sha1Hex: string;
  readonly sha256Hex: string;
  remove(): void;
}

/** Makes a self-signed certificate and its key in a new temporary folder (valid for a year unless told otherwise). */
export async function createTestCertificate(
  options: { notBefore?: Date; notAfter?: Date; passphrase?: string } = {},
): Promise<TestCertificate> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-certificate-'));
  const generated = await generateSelfSignedCertificate({ commonName: 'o365-signin test', ...options });
  const files = writeCertificateFiles(folder, { certificate: 'certificate.pem', key: 'key.pem' }, generated);
  const der = new crypto.X509Certificate(generated.certificatePem).raw;
  const sha1 = crypto.createHash('sha1').update(der).digest();
  const sha256 = crypto.createHash('sha256').update(der).digest();
  return {
    folder,
    ...files,
    ...generated,
    x5tS256: sha256.toString('base64url'),
    x5t: sha1.toString('base64url'),
    sha1Hex: sha1.toString('hex').toUpperCase(),
    sha256Hex: sha256.toString('hex').toUpperCase(),
    remove: () => fs.rmSync(folder, { recursive: true, force: true }),
  };
}

/** A validity window `fromDays` to `toDays` from now (negative: in the past). */
export function daysFromNow(fromDays: number, toDays: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(Date.now() + fromDays * DAY_MS), notAfter: new Date(Date.now() + toDays * DAY_MS) };
}

/** The settings that make the app use this certificate and no secret. */
export function certificateSettings(certificate: TestCertificate): Record<string, string> {
  return { O365_APP_KEY: '', O365_APP_CERT_PATH: certificate.certificatePath, O365_APP_CERT_KEY_PATH: certificate.keyPath };
}
