// HTTPS helpers for tests of the gateway's own TLS listeners: GET with the test CA (fetch cannot
// take a CA), the readiness poll for startGateway over https, and waiting for a log line.
import { request } from 'node:https'
import type { PeerCertificate, TLSSocket } from 'node:tls'

export interface HttpsAnswer { status: number, body: string, peer: PeerCertificate }

export function httpsRequest (url: string, options: { ca?: Buffer, cert?: Buffer, key?: Buffer, method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, cert: options.cert, key: options.key, agent: false, timeout: 5000 }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate()
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer }))
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(options.body)
  })
}

/** For startGateway's `ready`: polls GET url/healthz over https, trusting `ca`. */
export function httpsReady (ca: Buffer): (url: string, timeoutMs: number, gaveUp: Promise<unknown>) => Promise<void> {
  return async (url, timeoutMs, gaveUp) => {
    let stopped = false
    void gaveUp.then(() => { stopped = true }, () => { stopped = true })
    const deadline = Date.now() + timeoutMs
    let last = 'no answer'
    while (!stopped && Date.now() < deadline) {
      try {
        const answer = await httpsRequest(`${url}/healthz`, { ca })
        if (answer.status === 200) return
        last = `HTTP ${answer.status}`
      } catch (err) {
        last = (err as Error).message
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(stopped ? `the process exited before ${url} answered` : `${url}/healthz did not answer 200 within ${timeoutMs} ms (last: ${last})`)
  }
}

/** Resolves with the first log line `match` accepts (polled from a spawned gateway's output). */
export async function waitForLog (lines: () => Array<Record<string, unknown>>, match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = lines().find(match)
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no log line ${what} within ${timeoutMs} ms`)
}
