// A small WAMP v1 client for tests, written from the protocol (not from the server's code):
// connects with subprotocol wamp, waits for WELCOME, and collects EVENTs per topic.
import WebSocket from 'ws'

export type Frame = unknown[]

export interface WampClient {
  ws: WebSocket
  sessionId: string
  protocol: string
  /** Every frame after WELCOME, in order. */
  frames: Frame[]
  events (topic?: string): unknown[]
  send (frame: Frame | string): void
  prefix (prefix: string, uri: string): void
  subscribe (topic: string): void
  unsubscribe (topic: string): void
  publish (topic: string, event: unknown, ...rest: unknown[]): void
  call (callId: string, procUri: string, ...args: unknown[]): void
  /** Resolves when `count` events (on a topic, or any) have arrived. */
  waitForEvents (count: number, topic?: string, timeoutMs?: number): Promise<unknown[]>
  /** Resolves with the close code and reason, and whether a close frame was received. */
  closed: Promise<{ code: number, reason: string, clean: boolean }>
  /** A round trip through the server: every frame sent before it has been handled. */
  sync (): Promise<void>
  close (): void
}

let callCounter = 0

/** Browsers send an Origin; the gateway refuses upgrades without an allowed one. */
export const TEST_ORIGIN = 'http://localhost'

/** tls: for wss:// URLs, e.g. the test CA ({ ca }) or a client certificate ({ cert, key }). */
export function connectWamp (url: string, options: { protocols?: string[], headers?: Record<string, string>, localAddress?: string, tls?: { ca?: Buffer, cert?: Buffer, key?: Buffer, servername?: string } } = {}): Promise<WampClient> {
  return new Promise((resolve, reject) => {
    const headers = { Origin: TEST_ORIGIN, ...options.headers }
    const ws = new WebSocket(url, options.protocols ?? ['wamp'], { headers, localAddress: options.localAddress, perMessageDeflate: false, ...options.tls })
    const frames: Frame[] = []
    let sessionId = ''
    const waiters: Array<() => void> = []
    // ws reports 1006 when the TCP connection ended without a close frame.
    const closed = new Promise<{ code: number, reason: string, clean: boolean }>((resolveClose) => {
      ws.on('close', (code, reason) => resolveClose({ code, reason: reason.toString(), clean: code !== 1006 }))
    })
    ws.on('error', (err) => { if (sessionId === '') reject(err) })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode ?? 0}: ${body}`), { statusCode: res.statusCode, body, headers: res.headers })))
    })
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(data.toString()) as Frame
      if (isBinary) throw new Error('the server sent a binary frame')
      if (sessionId === '') {
        if (frame[0] !== 0) { reject(new Error(`first frame is not WELCOME: ${data.toString()}`)); return }
        sessionId = frame[1] as string
        resolve(client)
        return
      }
      frames.push(frame)
      for (const w of waiters.splice(0)) w()
    })
    const events = (topic?: string): unknown[] => frames.filter((f) => f[0] === 8 && (topic === undefined || f[1] === topic)).map((f) => f[2])
    const client: WampClient = {
      ws,
      get sessionId () { return sessionId },
      get protocol () { return ws.protocol },
      frames,
      events,
      send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      prefix: (prefix, uri) => client.send([1, prefix, uri]),
      subscribe: (topic) => client.send([5, topic]),
      unsubscribe: (topic) => client.send([6, topic]),
      publish: (topic, event, ...rest) => client.send([7, topic, event, ...rest]),
      call: (callId, procUri, ...args) => client.send([2, callId, procUri, ...args]),
      waitForEvents: (count, topic, timeoutMs = 10_000) => new Promise((resolveWait, rejectWait) => {
        const timer = setTimeout(() => rejectWait(new Error(`timed out waiting for ${count} events${topic !== undefined ? ` on ${topic}` : ''}; got ${events(topic).length}`)), timeoutMs)
        const check = (): void => {
          const got = events(topic)
          if (got.length >= count) { clearTimeout(timer); resolveWait(got) } else waiters.push(check)
        }
        check()
      }),
      closed,
      // The server answers every CALL with a CALLERROR, in order: a cheap barrier.
      sync: () => new Promise((resolveSync, rejectSync) => {
        const id = `sync-${++callCounter}`
        const timer = setTimeout(() => rejectSync(new Error('sync timed out')), 10_000)
        const check = (): void => {
          if (frames.some((f) => f[0] === 4 && f[1] === id)) { clearTimeout(timer); resolveSync() } else waiters.push(check)
        }
        client.call(id, 'sync')
        waiters.push(check)
      }),
      close: () => ws.terminate()
    }
  })
}
