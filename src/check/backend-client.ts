// What Oro's PHP backend does at ORO_WEBSOCKET_BACKEND_DSN (oro-compat §3): a raw TCP (or TLS)
// connection, a hand-written upgrade request with Origin 127.0.0.1, ONE read that must hold the
// 101 and the WELCOME (between the first '[' and the first ']'), then masked PUBLISH frames.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import type { Dsn, QueryValue } from '../config/dsn.js'

export type HandshakeOutcome =
  | { kind: 'welcome', sessionId: string, socket: Socket, publish: (frame: unknown[]) => void }
  | { kind: 'split', detail: string }
  | { kind: 'refused', status: number, code: string | undefined, body: string }
  | { kind: 'error', error: string }

const TLS_SCHEMES = new Set(['ssl', 'tls', 'tlsv1.0', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3', 'sslv3'])

export function maskedTextFrame (text: string): Buffer {
  const payload = Buffer.from(text)
  const length = payload.length
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.alloc(header + 4 + length)
  frame[0] = 0x81
  if (header === 2) frame[1] = 0x80 | length
  else if (header === 4) { frame[1] = 0x80 | 126; frame.writeUInt16BE(length, 2) } else { frame[1] = 0x80 | 127; frame.writeBigUInt64BE(BigInt(length), 2) }
  const mask = randomBytes(4)
  mask.copy(frame, header)
  for (let i = 0; i < length; i++) frame[header + 4 + i] = (payload[i] as number) ^ (mask[i % 4] as number)
  return frame
}

function option (query: Record<string, QueryValue>, name: string): string | undefined {
  const context = query.context_options
  if (context === undefined || typeof context !== 'object' || Array.isArray(context)) return undefined
  const value = context[name]
  return typeof value === 'string' ? value : undefined
}

/** PHP stream context options (verify_peer, verify_peer_name, cafile) as Node TLS options. */
export function tlsOptions (dsn: Dsn): ConnectionOptions {
  const options: ConnectionOptions = { servername: dsn.host }
  if (option(dsn.query, 'verify_peer') === 'false' || option(dsn.query, 'verify_peer') === '0') options.rejectUnauthorized = false
  if (option(dsn.query, 'verify_peer_name') === 'false' || option(dsn.query, 'verify_peer_name') === '0') options.checkServerIdentity = () => undefined
  const cafile = option(dsn.query, 'cafile')
  if (cafile !== undefined) options.ca = readFileSync(cafile)
  return options
}

/** Status line, then the JSON body's `code` when there is one (the gateway's GW_ERR_*). */
export function parseRefusal (response: string): { status: number, code: string | undefined, body: string } {
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 0)
  const bodyAt = response.indexOf('\r\n\r\n')
  const body = bodyAt === -1 ? '' : response.slice(bodyAt + 4)
  const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(body)?.[1]
  return { status, code, body }
}

export function backendHandshake (dsn: Dsn, ticket: string, timeoutMs = 1000): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    const secure = TLS_SCHEMES.has(dsn.scheme)
    let socket: Socket
    try {
      socket = secure ? tlsConnect({ host: dsn.host, port: dsn.port, ...tlsOptions(dsn) }) : tcpConnect({ host: dsn.host, port: dsn.port })
    } catch (err) {
      resolve({ kind: 'error', error: (err as Error).message })
      return
    }
    let settled = false
    const finish = (outcome: HandshakeOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (outcome.kind !== 'welcome') socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish({ kind: 'error', error: `no answer within ${timeoutMs} ms` }), timeoutMs)
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', error: err.code ?? err.message }))
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      const lines = [
        `GET /${dsn.path}?ticket=${encodeURIComponent(ticket)} HTTP/1.1`,
        `Host: ${dsn.host}:${dsn.port}`,
        'Pragma: no-cache',
        'Cache-Control: no-cache',
        'Upgrade: WebSocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Protocol: wamp',
        'Sec-WebSocket-Version: 13',
        'Origin: 127.0.0.1',
        'User-Agent: oro-websocket-gateway check'
      ]
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      // PHP reads, non-blocking, until a read comes back empty after some data: what is there at
      // once (this I/O turn) counts, what comes later does not.
      let all = ''
      let reading = false
      socket.on('data', (chunk: Buffer) => {
        all += chunk.toString('latin1')
        if (reading) return
        reading = true
        setImmediate(() => {
          const text = all
          if (!text.startsWith('HTTP/1.1 101')) {
            // A refusal: read the rest of the answer (a short body) before telling it.
            socket.once('end', () => finish({ kind: 'refused', ...parseRefusal(all) }))
            setTimeout(() => finish({ kind: 'refused', ...parseRefusal(all) }), 200).unref()
            return
          }
          const start = text.indexOf('[')
          const end = text.indexOf(']')
          if (start === -1 || end < start) {
            finish({ kind: 'split', detail: 'the 101 came without the WELCOME in the same read' })
            return
          }
          let welcome: unknown
          try { welcome = JSON.parse(text.slice(start, end + 1)) } catch { welcome = undefined }
          if (!Array.isArray(welcome) || welcome[0] !== 0 || typeof welcome[1] !== 'string') {
            finish({ kind: 'split', detail: `the text between the first [ and ] is not a WELCOME: ${text.slice(start, Math.min(end + 1, start + 80))}` })
            return
          }
          socket.pause() // Oro's client never reads again
          finish({ kind: 'welcome', sessionId: welcome[1], socket, publish: (frame) => socket.write(maskedTextFrame(JSON.stringify(frame))) })
        })
      })
    })
  })
}
