import crypto, { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';

/** Warn at start when the certificate expires within this long: Entra refuses it from that day on. */
export const CERTIFICATE_EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const SETUP_COMMAND = 'npm run setup -- --certificate';

/** Hashes of a certificate's DER encoding, in the forms Microsoft uses. */
export interface CertificateThumbprints {
  /** SHA-1, 40 upper-case hex digits: the "Thumbprint" column in the Entra portal and the one AADSTS700027 quotes. */
  readonly sha1Hex: string;
  /** SHA-256, 64 upper-case hex digits. */
  readonly sha256Hex: string;
  /** base64url SHA-1: the `x5t` header. */
  readonly x5t: string;
  /** base64url SHA-256: the `x5t#S256` header Microsoft documents. */
  readonly x5tS256: string;
}

/** A certificate file read and checked: PEM, X.509, an RSA key, inside its validity period. */
export interface CertificateFile {
  readonly path: string;
  /** The PEM text of the certificate only (never a key). */
  readonly pem: string;
  readonly certificate: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly thumbprints: CertificateThumbprints;
}

/** A private key file read: its PEM text, whether it is encrypted, and its permission bits. */
export interface PrivateKeyFile {
  readonly path: string;
  readonly pem: string;
  readonly encrypted: boolean;
  /** The file's permission bits, e.g. 0o600. */
  readonly mode: number;
}

/** The certificate credential the app signs client assertions with: read once at start, the key kept only in memory. */
export interface ClientCertificate extends CertificateFile {
  readonly keyPath: string;
  readonly privateKey: KeyObject;
}

export type FileResult<T> = { ok: true; file: T } | { ok: false; problem: string };
/** A problem found while opening the key, and the setting it belongs to. */
export type KeyProblem = { setting: 'O365_APP_CERT_KEY_PATH' | 'O365_APP_CERT_KEY_PASSPHRASE'; message: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:ENCRYPTED |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA )?PRIVATE KEY-----/;

/** The thumbprints of a DER-encoded certificate. */
export function thumbprintsOf(der: Buffer): CertificateThumbprints {
  const sha1 = crypto.createHash('sha1').update(der).digest();
  const sha256 = crypto.createHash('sha256').update(der).digest();
  return {
    sha1Hex: sha1.toString('hex').toUpperCase(),
    sha256Hex: sha256.toString('hex').toUpperCase(),
    x5t: sha1.toString('base64url'),
    x5tS256: sha256.toString('base64url'),
  };
}

/** The validity end of a certificate (Node 20 has no `validToDate`; `validTo` reads like "Dec  4 15:37:09 2027 GMT"). */
export function validityOf(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
}

/** A date as people read it in a message: 2027-12-04 15:37 UTC. */
export function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Reads O365_APP_CERT_PATH: a PEM certificate with an RSA key (Entra signs client assertions with PS256 or RS256),
 * valid now. The problem, if any, is the rest of a line that starts with the setting's name.
 */
export function readCertificateFile(path: string, now: number): FileResult<CertificateFile> {
  const read = readTextFile(path, 'the certificate (PEM)');
  if (!read.ok) return read;
  const pem = PEM_CERTIFICATE.exec(read.file.text)?.[0];
  if (pem === undefined) {
    if (PEM_PRIVATE_KEY.test(read.file.text)) {
      return fail(
        path,
        'holds a private key, not a certificate: put the certificate in O365_APP_CERT_PATH and its key in O365_APP_CERT_KEY_PATH',
      );
    }
    return fail(
      path,
      'is not a PEM certificate: use the .pem/.crt/.cer file that starts with -----BEGIN CERTIFICATE----- (not DER or .pfx)',
    );
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return fail(path, 'holds a PEM block that is not a valid X.509 certificate');
  }
  const keyType = certificate.publicKey.asymmetricKeyType;
  if (keyType !== 'rsa') {
    return fail(
      path,
      `holds a certificate with a ${keyType ?? 'non-RSA'} key: Microsoft Entra ID needs an RSA certificate for client assertions`,
    );
  }
  const { notBefore, notAfter } = validityOf(certificate);
  if (notAfter.getTime() <= now) {
    return fail(
      path,
      `expired on ${formatDate(notAfter)}: make a new certificate (${SETUP_COMMAND}) and upload it to the app registration`,
    );
  }
  if (notBefore.getTime() > now) {
    return fail(path, `is not valid before ${formatDate(notBefore)}: check the server's clock, or use a certificate that is valid now`);
  }
  return { ok: true, file: { path, pem, certificate, notBefore, notAfter, thumbprints: thumbprintsOf(certificate.raw) } };
}

/** Reads O365_APP_CERT_KEY_PATH: a PEM private key (PKCS#8, encrypted PKCS#8 or PKCS#1), not yet opened. */
export function readPrivateKeyFile(path: string): FileResult<PrivateKeyFile> {
  const read = readTextFile(path, 'the private key (PEM)');
  if (!read.ok) return read;
  const pem = PEM_PRIVATE_KEY.exec(read.file.text)?.[0];
  if (pem === undefined) {
    if (PEM_CERTIFICATE.test(read.file.text)) {
      return fail(path, 'holds a certificate, not a private key: put the key file made with the certificate here');
    }
    return fail(path, 'is not a PEM private key: use the file that starts with -----BEGIN PRIVATE KEY----- (or ENCRYPTED PRIVATE KEY)');
  }
  // Legacy PEM encryption marks the header with Proc-Type: 4,ENCRYPTED; PKCS#8 names it in the BEGIN line.
  const encrypted = pem.startsWith('-----BEGIN ENCRYPTED') || /^Proc-Type:\s*4,ENCRYPTED/m.test(pem);
  return { ok: true, file: { path, pem, encrypted, mode: read.file.mode } };
}

/**
 * Opens the private key with its passphrase and checks that it belongs to the certificate. The key object is the only
 * copy the app keeps: the file is not read again.
 */
export function openClientCertificate(
  certificate: CertificateFile,
  key: PrivateKeyFile,
  passphrase: string | undefined,
): { ok: true; credential: ClientCertificate } | { ok: false; problem: KeyProblem } {
  if (key.encrypted && passphrase === undefined) {
    return keyProblem(
      'O365_APP_CERT_KEY_PASSPHRASE',
      `O365_APP_CERT_KEY_PASSPHRASE is missing: the key in "${key.path}" is encrypted; set its passphrase.`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key.encrypted ? { key: key.pem, format: 'pem', passphrase } : { key: key.pem, format: 'pem' });
  } catch {
    // OpenSSL says "bad decrypt" for a wrong passphrase; the key itself is never quoted.
    if (key.encrypted) {
      return keyProblem(
        'O365_APP_CERT_KEY_PASSPHRASE',
        `O365_APP_CERT_KEY_PASSPHRASE does not open the key in "${key.path}": check the passphrase.`,
      );
    }
    return keyProblem('O365_APP_CERT_KEY_PATH', `O365_APP_CERT_KEY_PATH "${key.path}" holds a PEM block that is not a valid private key.`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || !certificate.certificate.checkPrivateKey(privateKey)) {
    return keyProblem(
      'O365_APP_CERT_KEY_PATH',
      `O365_APP_CERT_KEY_PATH "${key.path}" is not the private key of the certificate in O365_APP_CERT_PATH "${certificate.path}" ` +
        `(thumbprint ${certificate.thumbprints.sha1Hex}): use the key file made with that certificate.`,
    );
  }
  return { ok: true, credential: Object.assign({}, certificate, { keyPath: key.path, privateKey }) };
}

/** A start warning when the certificate expires within CERTIFICATE_EXPIRY_WARNING_DAYS. */
export function certificateExpiryWarning(certificate: CertificateFile, now: number): string | undefined {
  const days = Math.floor((certificate.notAfter.getTime() - now) / DAY_MS);
  if (days >= CERTIFICATE_EXPIRY_WARNING_DAYS) return undefined;
  return (
    `O365_APP_CERT_PATH "${certificate.path}" expires on ${formatDate(certificate.notAfter)} (in ${days} day${days === 1 ? '' : 's'}): ` +
    `make a new certificate (${SETUP_COMMAND}), upload it to the app registration, then switch the settings to it before that date.`
  );
}

/** A start warning when other users may read the private key file (it should be 0600, as `npm run setup` writes it). */
export function privateKeyModeWarning(key: PrivateKeyFile): string | undefined {
  // Windows has no such permission bits.
  if (process.platform === 'win32' || (key.mode & 0o077) === 0) return undefined;
  return `O365_APP_CERT_KEY_PATH "${key.path}" can be read by other users (mode ${key.mode.toString(8).padStart(4, '0')}): restrict it with chmod 600.`;
}

function readTextFile(path: string, what: string): FileResult<{ text: string; mode: number }> {
  let descriptor: number | undefined;
  try {
    descriptor = fs.openSync(path, 'r');
    const mode = fs.fstatSync(descriptor).mode & 0o777;
    return { ok: true, file: { text: fs.readFileSync(descriptor, 'utf8'), mode } };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(path, `does not exist: give the path of ${what}`);
    if (code === 'EISDIR') return fail(path, `is a folder: give the path of ${what}`);
    if (code === 'EACCES' || code === 'EPERM') return fail(path, 'cannot be read by the user the app runs as (permission denied)');
    return fail(path, `cannot be read (${code ?? 'unknown error'})`);
  } finally {
    if (descriptor !== undefined) fs.closeSync(descriptor);
  }
}

function fail(path: string, problem: string): { ok: false; problem: string } {
  return { ok: false, problem: `"${path}" ${problem}.` };
}

function keyProblem(setting: KeyProblem['setting'], message: string): { ok: false; problem: KeyProblem } {
  return { ok: false, problem: { setting, message } };
}
