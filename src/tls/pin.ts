// A client that trusts one certificate: the gateway's own (a listener's context_options[local_cert]),
// by its SHA-256 fingerprint, instead of a CA and a name. For the commands that talk to the
// gateway of their own configuration on its listen address (wait-ready, the doctor): they connect
// to 127.0.0.1, which a certificate for ws.example.com does not name, and the configuration holds
// no CA for the listener's own certificate (cafile is for client certificates). The certificate is
// checked right after the TLS handshake, before a byte of the request (with its ticket or key) is
// sent: another process on the port, without the gateway's key, learns nothing and passes nothing.
import type { ClientRequestArgs } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import { connect } from 'node:tls'

const PIN_MISMATCH = 'is not the one in context_options[local_cert]'

/** The certificate served is not the pinned one. No `code`: the message is what to tell. */
export class CertificatePinError extends Error {
  constructor (served: string | undefined, expected: string) {
    super(`the certificate served (SHA-256 ${served ?? 'none'}) ${PIN_MISMATCH} (${expected})`)
  }
}

/** Whether an error text (an Error's message, as clients report it) is a CertificatePinError's. */
export function isPinMismatch (error: string): boolean {
  return error.includes(PIN_MISMATCH)
}

type Created = (err: Error | null, socket: Duplex) => void

/**
 * A `createConnection` for http(s).request and ws: a TLS connection handed over only once the
 * certificate served has `fingerprint256`, else the request fails with a CertificatePinError.
 */
export function pinnedConnection (fingerprint256: string): (options: ClientRequestArgs & { servername?: string }, created: Created) => undefined {
  return (options, created) => {
    // rejectUnauthorized: false because the pin below replaces the CA and name checks.
    const socket = connect({ host: options.host ?? undefined, port: Number(options.port), servername: options.servername, rejectUnauthorized: false })
    const fail = (err: Error): void => {
      socket.destroy()
      created(err, socket)
    }
    const timeoutMs = typeof options.timeout === 'number' ? options.timeout : 0
    const timedOut = (): void => fail(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }))
    if (timeoutMs > 0) socket.setTimeout(timeoutMs, timedOut)
    socket.once('error', fail)
    socket.once('secureConnect', () => {
      socket.removeListener('error', fail)
      socket.removeListener('timeout', timedOut)
      socket.setTimeout(0)
      const served = socket.getPeerCertificate().fingerprint256
      if (served !== fingerprint256) fail(new CertificatePinError(served, fingerprint256))
      else created(null, socket)
    })
    return undefined
  }
}

export interface ProbeAnswer { status: number, body: string }

export interface ProbeInit { method?: string, headers?: Record<string, string>, body?: string }

function pinnedRequest (url: string, init: ProbeInit, fingerprint256: string, timeoutMs: number): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers, createConnection: pinnedConnection(fingerprint256), timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { if (body.length < 65536) body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', reject)
    req.end(init.body)
  })
}

/**
 * One request to the gateway of this configuration: over https only to the certificate with
 * `fingerprint256` (required for an https URL), over http with fetch. Errors as fetch's: the
 * cause's code (ECONNREFUSED, ...) in `cause.code` or `code`, a pin mismatch in the message.
 */
export async function probeRequest (url: string, init: ProbeInit, timeoutMs: number, fingerprint256?: string): Promise<ProbeAnswer> {
  if (url.startsWith('https:')) {
    if (fingerprint256 === undefined) throw new TypeError('an https URL needs the fingerprint of the certificate to expect')
    return await pinnedRequest(url, init, fingerprint256, timeoutMs)
  }
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, body: await res.text() }
}

/** What a probeRequest failure says: the network code when there is one, else the message. */
export function probeError (err: unknown): string {
  const e = err as Error & { code?: string, cause?: { code?: string } }
  return e.cause?.code ?? e.code ?? e.message
}
