// A WebSocket client that connects as a browser running Oro's code does (subprotocol wamp, an
// Origin, ?ticket=), keeps the session for the probe, and tells a refusal by status and GW_ERR_*.
import WebSocket, { type ClientOptions } from 'ws'
import { pinnedConnection } from '../tls/pin.js'

export type BrowserOutcome =
  | { kind: 'welcome', session: BrowserSession }
  | { kind: 'refused', status: number, code: string | undefined, body: string }
  | { kind: 'error', error: string }

export interface BrowserSession {
  sessionId: string
  protocol: string
  subscribe: (topic: string) => void
  /** Resolves after every frame sent before it was handled (a CALL always gets a CALLERROR). */
  sync: (timeoutMs: number) => Promise<boolean>
  /** Resolves with the first EVENT on the topic whose payload is `payload`, or false on timeout. */
  waitForEvent: (topic: string, payload: unknown, timeoutMs: number) => Promise<boolean>
  close: () => void
}

export function withTicket (url: string, ticket: string): string {
  const parsed = new URL(url)
  parsed.searchParams.set('ticket', ticket)
  return parsed.toString()
}

/** `fingerprint256`: over wss://, trust only that certificate (the gateway's own, src/tls/pin.ts). */
export function connectBrowser (url: string, origin: string, timeoutMs = 3000, fingerprint256?: string): Promise<BrowserOutcome> {
  return new Promise((resolve) => {
    let ws: WebSocket
    const options: ClientOptions = { headers: { Origin: origin, 'User-Agent': 'oro-websocket-gateway check' }, perMessageDeflate: false, handshakeTimeout: timeoutMs }
    if (fingerprint256 !== undefined) options.createConnection = pinnedConnection(fingerprint256) as unknown as ClientOptions['createConnection']
    try {
      ws = new WebSocket(url, ['wamp'], options)
    } catch (err) {
      resolve({ kind: 'error', error: (err as Error).message })
      return
    }
    let settled = false
    const finish = (outcome: BrowserOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (outcome.kind !== 'welcome') ws.terminate()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish({ kind: 'error', error: `no WELCOME within ${timeoutMs} ms` }), timeoutMs)
    const frames: unknown[][] = []
    const waiters = new Set<() => void>()
    ws.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', error: err.code ?? err.message }))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { if (body.length < 4096) body += chunk })
      res.on('end', () => finish({ kind: 'refused', status: res.statusCode ?? 0, code: /"code"\s*:\s*"([A-Z_]+)"/.exec(body)?.[1], body }))
      res.on('error', () => finish({ kind: 'refused', status: res.statusCode ?? 0, code: undefined, body }))
    })
    ws.on('message', (data) => {
      let frame: unknown
      try { frame = JSON.parse(data.toString()) } catch { return }
      if (!Array.isArray(frame)) return
      if (!settled) {
        if (frame[0] === 0 && typeof frame[1] === 'string') finish({ kind: 'welcome', session: session(frame[1]) })
        else finish({ kind: 'error', error: `the first frame is not a WELCOME: ${data.toString().slice(0, 80)}` })
        return
      }
      frames.push(frame)
      for (const waiter of [...waiters]) waiter()
    })
    const until = (test: () => boolean, timeoutMs: number): Promise<boolean> => new Promise((resolveWait) => {
      const check = (): void => {
        if (!test()) return
        waiters.delete(check)
        clearTimeout(limit)
        resolveWait(true)
      }
      const limit = setTimeout(() => { waiters.delete(check); resolveWait(false) }, timeoutMs)
      waiters.add(check)
      check()
    })
    let calls = 0
    const session = (sessionId: string): BrowserSession => ({
      sessionId,
      protocol: ws.protocol,
      subscribe: (topic) => ws.send(JSON.stringify([5, topic])),
      sync: async (ms) => {
        const id = `check-sync-${++calls}`
        ws.send(JSON.stringify([2, id, 'oro-websocket-gateway/check']))
        return await until(() => frames.some((f) => f[0] === 4 && f[1] === id), ms)
      },
      waitForEvent: async (topic, payload, ms) => await until(() => frames.some((f) => f[0] === 8 && f[1] === topic && JSON.stringify(f[2]) === JSON.stringify(payload)), ms),
      close: () => ws.terminate()
    })
  })
}
