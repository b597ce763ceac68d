// A listener's TLS settings in Oro's DSN syntax: PHP stream context options
// (`?context_options[local_cert]=...&context_options[local_pk]=...&context_options[passphrase]=...`)
// read as a PHP TLS *server* reads them (GosWebSocketBundle's `server.tls.options`, React's
// SecureServer), turned into Node's TLS server options. Parsing (option names and values) is pure;
// loading reads the files and checks them (key against certificate, passphrase, CA files) so that
// a bad certificate stops the gateway at start with a line naming the option, never at the first
// handshake.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { ConfigError } from '../config/errors.js'
import type { Dsn, QueryValue } from '../config/dsn.js'

/** What each listener with TLS was given, paths as written (relative ones resolved by loadListenerTls). */
export interface ListenerTls {
  /** The setting that holds it, as error lines name it ("ORO_WEBSOCKET_SERVER_DSN (in .env-app.local)"). */
  setting: string
  localCert: string
  /** Defaults to local_cert (PHP: the certificate file may hold the key too). */
  localPk: string | undefined
  passphrase: string | undefined
  /** CA file and directory that client certificates are checked against (verify_peer=true only). */
  cafile: string | undefined
  capath: string | undefined
  /** Ask every client for a certificate and refuse the handshake without a valid one. */
  verifyPeer: boolean
  ciphers: string | undefined
  /** The directory relative paths start from (the app root for .env-app* values, else the working directory). */
  base?: string
  /** Filled by loadListenerTls: the files read and checked, as https.createServer takes them. */
  server?: TlsServerOptions
}

/** Options for https.createServer; the SecureContextOptions part is what setSecureContext takes on reload. */
export interface TlsServerOptions extends SecureContextOptions {
  requestCert: boolean
  rejectUnauthorized: boolean
  /** Absolute paths actually read, for logs. */
  files: { cert: string, key: string }
  /** Subject, expiry and fingerprint of the certificate served, for logs. */
  certificate: { subject: string, validTo: string, fingerprint256: string }
}

/** The context options a listener understands. Anything else is refused, never ignored. */
export const LISTENER_OPTIONS = ['local_cert', 'local_pk', 'passphrase', 'cafile', 'capath', 'verify_peer', 'verify_peer_name', 'allow_self_signed', 'ciphers'] as const

const TRUE = new Set(['1', 'true', 'on', 'yes'])
const FALSE = new Set(['0', 'false', 'off', 'no', ''])
const TLS_SCHEMES = new Set(['ssl', 'tls'])

function example (name: string): string {
  return `${name.replace(/ \(.*\)$/, '')}=//0.0.0.0:8443?context_options[local_cert]=/etc/ssl/certs/ws.pem&context_options[local_pk]=/etc/ssl/private/ws.key`
}

/**
 * The TLS settings of a listening DSN, or null for plain TCP. TLS is on when the DSN has
 * `context_options[local_cert]`, whatever the scheme (Oro's default scheme is tcp); `ssl://` or
 * `tls://` without local_cert is an error, as is any other context option without it.
 */
export function listenerTls (dsn: Dsn, setting: string): ListenerTls | null {
  const raw = dsn.query.context_options
  const wantsTls = TLS_SCHEMES.has(dsn.scheme)
  if (raw === undefined) {
    if (wantsTls) throw new ConfigError(setting, `has scheme ${dsn.scheme}:// but no context_options[local_cert]: a listener needs its certificate`, example(setting))
    return null
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(setting, 'has context_options without a name (write context_options[local_cert]=/path/cert.pem)', example(setting))
  }
  for (const name of Object.keys(raw)) {
    if (!(LISTENER_OPTIONS as readonly string[]).includes(name)) {
      throw new ConfigError(setting, `has context_options[${name}], which a listener does not use; it understands ${LISTENER_OPTIONS.join(', ')}`, example(setting))
    }
  }
  const text = (name: string): string | undefined => {
    const value: QueryValue | undefined = raw[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string') throw new ConfigError(setting, `has context_options[${name}] with a list or sub-keys; give one value`, example(setting))
    return value
  }
  const flag = (name: string): boolean | undefined => {
    const value = text(name)
    if (value === undefined) return undefined
    const lower = value.toLowerCase()
    if (TRUE.has(lower)) return true
    if (FALSE.has(lower)) return false
    throw new ConfigError(setting, `has context_options[${name}]=${value}, which is not true or false`, `context_options[${name}]=false`)
  }

  const localCert = text('local_cert')
  if (localCert === undefined || localCert === '') {
    throw new ConfigError(setting, `has context options (${Object.keys(raw).join(', ')}) but no context_options[local_cert]: TLS needs the listener's certificate`, example(setting))
  }
  const verifyPeer = flag('verify_peer') ?? false
  flag('verify_peer_name') // a listener checks no peer name (PHP checks names as a client only); accepted for Oro-shaped DSNs
  const allowSelfSigned = flag('allow_self_signed') ?? false
  const cafile = text('cafile')
  const capath = text('capath')
  if (verifyPeer && cafile === undefined && capath === undefined) {
    throw new ConfigError(setting, 'has context_options[verify_peer]=true (client certificates) without context_options[cafile] or [capath] to check them against', 'context_options[verify_peer]=true&context_options[cafile]=/etc/ssl/clients-ca.pem')
  }
  if (!verifyPeer && (cafile !== undefined || capath !== undefined)) {
    throw new ConfigError(setting, `has context_options[${cafile !== undefined ? 'cafile' : 'capath'}] without context_options[verify_peer]=true: on a listener the CA only checks client certificates (the chain the listener sends goes in local_cert)`, 'context_options[verify_peer]=true&context_options[cafile]=/etc/ssl/clients-ca.pem')
  }
  if (verifyPeer && allowSelfSigned) {
    throw new ConfigError(setting, 'has context_options[allow_self_signed]=true with verify_peer=true, which the gateway does not support: put the client\'s own certificate in cafile instead', 'context_options[verify_peer]=true&context_options[cafile]=/etc/ssl/client.pem')
  }
  return {
    setting,
    localCert,
    localPk: text('local_pk') === '' ? undefined : text('local_pk'),
    passphrase: text('passphrase'),
    cafile,
    capath,
    verifyPeer,
    ciphers: text('ciphers')
  }
}

function readOption (tls: ListenerTls, option: string, path: string, base: string, what: string): { file: string, data: Buffer } {
  const file = resolve(base, path)
  try {
    return { file, data: readFileSync(file) }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new ConfigError(`${tls.setting} context_options[${option}]`, `= "${path}" cannot be read (${code}${file !== path ? `, tried ${file}` : ''})`, `the path of ${what} the gateway's user can read`)
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function certificates (tls: ListenerTls, option: string, file: string, data: Buffer): X509Certificate[] {
  const blocks = data.toString('latin1').match(CERTIFICATE_BLOCK) ?? []
  const parsed: X509Certificate[] = []
  for (const block of blocks) {
    try {
      parsed.push(new X509Certificate(block))
    } catch {
      throw new ConfigError(`${tls.setting} context_options[${option}]`, `= "${file}" has a certificate block that is not a valid certificate`, 'a PEM file made by openssl x509 -outform PEM')
    }
  }
  if (parsed.length === 0) throw new ConfigError(`${tls.setting} context_options[${option}]`, `= "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 'a PEM file made by openssl x509 -outform PEM')
  return parsed
}

/** capath: every certificate file in the directory (PHP's hashed names, .pem, .crt). */
function readCaPath (tls: ListenerTls, path: string, base: string): Buffer[] {
  const dir = resolve(base, path)
  let names: string[]
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })
    names = readdirSync(dir).sort()
  } catch (err) {
    throw new ConfigError(`${tls.setting} context_options[capath]`, `= "${path}" is not a readable directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'a directory of CA certificates, e.g. /etc/ssl/certs')
  }
  const found: Buffer[] = []
  for (const name of names) {
    if (!/\.(pem|crt|\d+)$/.test(name)) continue
    const { file, data } = readOption(tls, 'capath', resolve(dir, name), base, 'a CA certificate')
    if (!data.includes('-----BEGIN CERTIFICATE-----')) continue
    certificates(tls, 'capath', file, data)
    found.push(data)
  }
  if (found.length === 0) throw new ConfigError(`${tls.setting} context_options[capath]`, `= "${path}" has no certificate files (*.pem, *.crt, or hashed names)`, 'a directory of CA certificates, e.g. /etc/ssl/certs')
  return found
}

/**
 * Reads and checks the files of a listener's TLS settings (relative paths from `base`) and returns
 * the options for https.createServer; the same call on SIGHUP gives what setSecureContext takes.
 * Each problem is a ConfigError naming the option and what to change.
 */
export function loadListenerTls (tls: ListenerTls, base: string): TlsServerOptions {
  const cert = readOption(tls, 'local_cert', tls.localCert, base, 'a PEM certificate (chain)')
  const chain = certificates(tls, 'local_cert', cert.file, cert.data)
  const keyOption = tls.localPk === undefined ? 'local_cert' : 'local_pk'
  const key = tls.localPk === undefined ? cert : readOption(tls, 'local_pk', tls.localPk, base, 'the PEM private key')
  const keyText = key.data.toString('latin1')
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText)) {
    throw new ConfigError(`${tls.setting} context_options[${keyOption}]`, `= "${key.file}" holds no PEM private key${tls.localPk === undefined ? ' (without local_pk the key must be in the local_cert file)' : ''}`, 'context_options[local_pk]=/etc/ssl/private/ws.key')
  }
  const encrypted = /ENCRYPTED/.test(keyText)
  if (encrypted && (tls.passphrase === undefined || tls.passphrase === '')) {
    throw new ConfigError(`${tls.setting} context_options[${keyOption}]`, `= "${key.file}" is encrypted and no context_options[passphrase] is given`, 'context_options[passphrase]=<the key\'s passphrase> (percent-encode & # + %)')
  }
  const ca: Buffer[] = []
  if (tls.cafile !== undefined) {
    const file = readOption(tls, 'cafile', tls.cafile, base, 'a PEM CA certificate')
    certificates(tls, 'cafile', file.file, file.data)
    ca.push(file.data)
  }
  if (tls.capath !== undefined) ca.push(...readCaPath(tls, tls.capath, base))

  const options: SecureContextOptions = {
    cert: cert.data,
    key: key.data,
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(ca.length > 0 ? { ca } : {}),
    ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {})
  }
  try {
    createSecureContext(options)
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException
    if (code === 'ERR_OSSL_BAD_DECRYPT') {
      throw new ConfigError(`${tls.setting} context_options[passphrase]`, `does not decrypt the key in "${key.file}"`, 'the passphrase the key was encrypted with (percent-encode & # + %)')
    }
    if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      throw new ConfigError(`${tls.setting} context_options[${keyOption}]`, `= "${key.file}" is not the private key of the certificate in "${cert.file}"`, 'the key the certificate was made for (openssl x509 -noout -pubkey -in CERT and openssl pkey -pubout -in KEY print the same)')
    }
    if (tls.ciphers !== undefined && /cipher/i.test(message)) {
      throw new ConfigError(`${tls.setting} context_options[ciphers]`, `= "${tls.ciphers}" is not an OpenSSL cipher list this Node.js accepts (${message})`, 'context_options[ciphers]=ECDHE+AESGCM')
    }
    throw new ConfigError(`${tls.setting} context_options[${keyOption}]`, `cannot be used with context_options[local_cert] (${message})`, 'a PEM certificate and its PEM private key')
  }
  const leaf = chain[0] as X509Certificate
  return {
    ...options,
    requestCert: tls.verifyPeer,
    rejectUnauthorized: tls.verifyPeer,
    files: { cert: cert.file, key: key.file },
    certificate: { subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo, fingerprint256: leaf.fingerprint256 }
  }
}

/** The options https.createServer takes (our bookkeeping fields left out). */
export function httpsOptions (server: TlsServerOptions): SecureContextOptions & { requestCert: boolean, rejectUnauthorized: boolean } {
  const { files: _files, certificate: _certificate, ...options } = server
  return options
}
