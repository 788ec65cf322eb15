// node:crypto makes keys, signs and parses certificates, but cannot build one: @peculiar/x509 writes the X.509 structure
// (the builder `selfsigned` itself wraps, without its second ASN.1 stack), and it needs the Reflect metadata polyfill.
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { openClientCertificate, readCertificateFile, readPrivateKeyFile } from '../auth/client-certificate.ts';
import type { CertificateThumbprints } from '../auth/client-certificate.ts';

/** How long a certificate made by `npm run setup` is valid: Entra accepts any period; a year keeps rotation a habit. */
export const CERTIFICATE_VALID_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface GeneratedCertificate {
  readonly certificatePem: string;
  /** PKCS#8, encrypted (AES-256-CBC) when a passphrase was given. */
  readonly privateKeyPem: string;
}

/** Where a certificate and its key were written. */
export interface CertificateFiles {
  readonly certificatePath: string;
  readonly keyPath: string;
}

/**
 * A self-signed RSA-2048 certificate for client assertions (PS256/RS256 both need an RSA key), signed with SHA-256,
 * for digital signatures only. `notBefore`/`notAfter` default to a minute ago and CERTIFICATE_VALID_DAYS from now.
 */
export async function generateSelfSignedCertificate(
  options: { commonName: string; notBefore?: Date; notAfter?: Date; passphrase?: string } = { commonName: 'o365-signin' },
): Promise<GeneratedCertificate> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await crypto.webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  // A positive serial (first byte below 0x80) of 16 random bytes, as RFC 5280 §4.1.2.2 asks.
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: `CN=${options.commonName.replace(/[,+"\\<>;=]/g, '')}`,
      notBefore: options.notBefore ?? new Date(now - 60_000),
      notAfter: options.notAfter ?? new Date(now + CERTIFICATE_VALID_DAYS * DAY_MS),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    },
    crypto.webcrypto as Crypto,
  );
  const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const privateKeyPem =
    options.passphrase === undefined
      ? privateKey.export({ type: 'pkcs8', format: 'pem' })
      : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: options.passphrase });
  return { certificatePem: certificate.toString('pem'), privateKeyPem: String(privateKeyPem) };
}

/**
 * Writes a certificate and its key into `folder` (created if needed), both readable by the owner only (0600), each through
 * a temporary file moved into place so neither is ever half-written.
 */
export function writeCertificateFiles(
  folder: string,
  names: { certificate: string; key: string },
  generated: GeneratedCertificate,
): CertificateFiles {
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  const certificatePath = path.join(folder, names.certificate);
  const keyPath = path.join(folder, names.key);
  writePrivateFile(keyPath, generated.privateKeyPem);
  writePrivateFile(certificatePath, generated.certificatePem);
  return { certificatePath, keyPath };
}

/**
 * The certificate and key at these names in `folder`: kept when they are a valid, unexpired, matching pair (it may be
 * uploaded to the app registration already), else made anew and written.
 */
export async function ensureCertificateFiles(
  folder: string,
  names: { certificate: string; key: string },
  commonName: string,
): Promise<CertificateFiles & { created: boolean; thumbprints: CertificateThumbprints; notAfter: Date }> {
  const certificatePath = path.join(folder, names.certificate);
  const keyPath = path.join(folder, names.key);
  const certificate = readCertificateFile(certificatePath, Date.now());
  const key = readPrivateKeyFile(keyPath);
  if (certificate.ok && key.ok && openClientCertificate(certificate.file, key.file, undefined).ok) {
    return { certificatePath, keyPath, created: false, thumbprints: certificate.file.thumbprints, notAfter: certificate.file.notAfter };
  }
  const files = writeCertificateFiles(folder, names, await generateSelfSignedCertificate({ commonName }));
  const written = readCertificateFile(files.certificatePath, Date.now());
  if (!written.ok) throw new Error(`the new certificate cannot be read back: ${written.problem}`);
  return Object.assign({}, files, { created: true, thumbprints: written.file.thumbprints, notAfter: written.file.notAfter });
}

function writePrivateFile(file: string, text: string): void {
  const temporary = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}
