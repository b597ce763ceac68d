// The Oro bundle's settings (integrations/oro-bundle), as the doctor's `bundle` step checks them:
// ORO_WEBSOCKET_PUBLISH_DSN and ORO_WEBSOCKET_PUBLISH_KEY read from the application's .env-app
// files as the gateway reads its own (env-files.ts, expand.ts; the real environment wins, as with
// Symfony's Dotenv), the DSN taken apart as HttpWebsocketClient::fromDsn does (its options out of
// the query string; ca_file and verify used for TLS as the bundle gives them to curl), and one
// request made the way the bundle makes it.
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isAbsolute, resolve } from 'node:path'
import { readEnvFiles } from '../config/env-files.js'
import { expandReferences } from '../config/expand.js'
import type { ProbeAnswer, ProbeInit } from '../tls/pin.js'

export const BUNDLE_DSN = 'ORO_WEBSOCKET_PUBLISH_DSN'
export const BUNDLE_KEY = 'ORO_WEBSOCKET_PUBLISH_KEY'

/** The options HttpWebsocketClient::fromDsn takes out of the DSN's query string. */
const DSN_OPTIONS = new Set(['timeout', 'connect_timeout', 'retries', 'retry_delay', 'ca_file', 'verify', 'readiness_ttl', 'readyz_url'])

export interface BundleSetting {
  /** Trimmed, as the bundle trims it. */
  value: string
  /** Where it came from, for the report: "ORO_WEBSOCKET_PUBLISH_KEY (in /app/.env-app.local)". */
  source: string
}

/** The two settings when set and not empty (the bundle's selector treats empty as unset). */
export interface BundleSettings { dsn?: BundleSetting, key?: BundleSetting }

export function readBundleSettings (root: string, env: Record<string, string | undefined>): BundleSettings {
  const { values, fileOf } = readEnvFiles(root, env)
  const expanded = expandReferences(values, env)
  const setting = (name: string): BundleSetting | undefined => {
    const fromEnv = env[name]
    const value = (fromEnv ?? expanded[name])?.trim()
    if (value === undefined || value === '') return undefined
    return { value, source: fromEnv !== undefined ? `${name} (environment)` : `${name} (in ${fileOf[name] ?? '?'})` }
  }
  const result: BundleSettings = {}
  const dsn = setting(BUNDLE_DSN)
  const key = setting(BUNDLE_KEY)
  if (dsn !== undefined) result.dsn = dsn
  if (key !== undefined) result.key = key
  return result
}

export interface BundleTarget {
  /** What the bundle POSTs to: the DSN without its options. */
  url: string
  /** ca_file, as written, and resolved (relative: from the application's root). */
  caFile?: { given: string, path: string }
  /** verify=false accepts any certificate. */
  verify: boolean
}

/** The DSN as the bundle uses it, or why the bundle cannot use it (the bundle logs the same at each publish). */
export function parseBundleDsn (dsn: string, root: string): BundleTarget | { problem: string } {
  const mark = dsn.indexOf('?')
  const params = new URLSearchParams(mark === -1 ? '' : dsn.slice(mark + 1))
  const kept = new URLSearchParams()
  const options: Record<string, string> = {}
  for (const [name, value] of params) {
    if (DSN_OPTIONS.has(name)) options[name] = value
    else kept.append(name, value)
  }
  const base = mark === -1 ? dsn : dsn.slice(0, mark)
  const url = [...kept.keys()].length === 0 ? base : `${base}?${kept.toString()}`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { problem: `"${url}" is not an http:// or https:// URL` }
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.hostname === '') return { problem: `"${url}" is not an http:// or https:// URL` }
  const verify = options.verify === undefined || !['0', 'false', 'no', 'off', ''].includes(options.verify.trim().toLowerCase())
  const target: BundleTarget = { url, verify }
  const ca = options.ca_file
  if (ca !== undefined && ca !== '') target.caFile = { given: ca, path: isAbsolute(ca) ? ca : resolve(root, ca) }
  return target
}

/** A key the bundle refuses to send (it goes into a header line). */
export function keyProblem (key: string): string | undefined {
  return /[\x00-\x20\x7f]/.test(key) ? 'contains spaces or control characters' : undefined
}

/** One request as the bundle makes it: its CA file (or the system's CAs) and verify setting. */
export function bundleRequest (url: string, init: ProbeInit, timeoutMs: number, tls: { ca?: Buffer, verify: boolean }): Promise<ProbeAnswer> {
  return new Promise((resolvePromise, reject) => {
    const secure = url.startsWith('https:')
    const options = { method: init.method ?? 'GET', headers: init.headers, timeout: timeoutMs, ...(secure ? { rejectUnauthorized: tls.verify, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } : {}) }
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { if (body.length < 65536) body += chunk })
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', reject)
    req.end(init.body)
  })
}

/** The CA file's contents, or why it cannot be read (the bundle refuses to publish then). */
export function readCa (caFile: { given: string, path: string }): Buffer | { problem: string } {
  try {
    return readFileSync(caFile.path)
  } catch (err) {
    return { problem: `the CA file "${caFile.given}" (ca_file) cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` }
  }
}

const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE'
])

/** What to change when the request did not get an answer. */
export function bundleConnectionFix (cause: string, target: BundleTarget, dsnSource: string, gatewayPublishUrl: string): string {
  const where = new URL(target.url).host
  if (cause === 'ECONNREFUSED') return `nothing listens at ${where}: point ${dsnSource} at the gateway's POST /publish (this gateway's: ${gatewayPublishUrl})`
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') return `the host of ${where} does not resolve: correct the host in ${dsnSource}`
  if (CERTIFICATE_ERRORS.has(cause)) {
    return target.caFile !== undefined
      ? `the gateway's certificate is not signed by the CA in ca_file=${target.caFile.given}: give the CA that signed it in ${dsnSource} (?ca_file=/path/to/ca.pem)`
      : `the gateway's certificate is not signed by a CA the system trusts: add ?ca_file=/path/to/ca.pem (the CA that signed it) to ${dsnSource}, as the bundle reads it`
  }
  if (cause === 'CERT_HAS_EXPIRED') return 'the gateway\'s certificate has expired: renew it (context_options[local_cert])'
  if (cause === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the gateway's certificate does not name ${new URL(target.url).hostname}: use a host it names in ${dsnSource}`
  if (cause === 'EPROTO' || cause === 'ECONNRESET' || cause.startsWith('HPE_')) return `${where} does not speak ${new URL(target.url).protocol.replace(':', '')}: use http:// or https:// in ${dsnSource} as the gateway listens (this gateway: ${gatewayPublishUrl})`
  if (cause === 'ETIMEDOUT') return `${where} does not answer: check ${dsnSource}, the network and the gateway`
  return `the request failed: check ${dsnSource} and the network`
}
