// Test certificates made at run time with the openssl CLI (never committed): a private CA, server
// certificates it signs for localhost and 127.0.0.1 (one with a passphrase-protected key, a
// second one to reload), a client certificate, and a self-signed certificate.
import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary } from './services.js'

export const opensslBinary = findBinary('openssl')

export const PASSPHRASE = 'pa&ss #phrase'

export interface TestCertificates {
  dir: string
  /** The private CA (ca.crt) and its key. */
  ca: string
  caKey: string
  /** Signed by the CA for localhost + 127.0.0.1, with a plain key and the same key encrypted with PASSPHRASE. */
  server: { cert: string, key: string, encryptedKey: string }
  /** Another certificate for the same names (what a renewal brings), for reload tests. */
  renewed: { cert: string, key: string }
  /** A client certificate signed by the CA. */
  client: { cert: string, key: string }
  /** Self-signed for localhost + 127.0.0.1 (no CA). */
  selfSigned: { cert: string, key: string }
}

function openssl (args: string[]): void {
  if (opensslBinary === undefined) throw new Error('openssl is not installed')
  execFileSync(opensslBinary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function signed (dir: string, name: string, cn: string, usage: 'serverAuth' | 'clientAuth'): { cert: string, key: string } {
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const cert = join(dir, `${name}.crt`)
  const ext = join(dir, `${name}.ext`)
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\n` +
    (usage === 'serverAuth' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : ''))
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr])
  openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', cert])
  return { cert, key }
}

export function makeCertificates (): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'gw-tls-'))
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Gateway Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')])
  const server = signed(dir, 'server', 'localhost', 'serverAuth')
  const encryptedKey = join(dir, 'server.enc.key')
  openssl(['pkey', '-in', server.key, '-aes256', '-passout', `pass:${PASSPHRASE}`, '-out', encryptedKey])
  const renewed = signed(dir, 'renewed', 'localhost', 'serverAuth')
  const client = signed(dir, 'client', 'oro-backend', 'clientAuth')
  const selfSigned = { cert: join(dir, 'self.crt'), key: join(dir, 'self.key') }
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', selfSigned.key, '-out', selfSigned.cert])
  return { dir, ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), server: { ...server, encryptedKey }, renewed, client, selfSigned }
}

/** base64(sha256(SubjectPublicKeyInfo)): what Chromium's --ignore-certificate-errors-spki-list takes. */
export function spkiHash (certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64')
}

/** The SHA-256 fingerprint as Node's TLS peer certificates give it (AA:BB:...). */
export function fingerprint (certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256
}

/** A DSN query value: percent-encoded the way PHP's parse_str reads it back. */
export function q (value: string): string {
  return encodeURIComponent(value)
}
