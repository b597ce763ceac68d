// Oro's PHP backend client, byte by byte (oro-compat §3): a raw TCP connection, a hand-written
// upgrade request, ONE non-blocking read that stops at the first empty read after data arrived,
// the WELCOME found between the first '[' and the first ']', then masked PUBLISH frames and never
// another read. PHP gives the connect and the read 1 s each; here they wait `timeoutMs` (10 s by
// default), so a test on a busy machine checks the bytes, not the machine's speed (the anonymous
// ticket's digest queues behind every other test's work).
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'

export interface PhpClient {
  socket: Socket
  /** Everything the one read got. */
  response: string
  sessionId: string
  publish (topic: string, payload: unknown, exclude?: string[], eligible?: string[]): void
  close (): void
}

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

/** localAddress: connect from this address, as a PHP backend on another host would (e.g. 127.0.5.9). */
export function connectPhpBackend (port: number, options: { path?: string, ticket?: string, host?: string, userAgent?: string, localAddress?: string, timeoutMs?: number } = {}): Promise<PhpClient> {
  const timeoutMs = options.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: options.host ?? '127.0.0.1', ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) })
    socket.setTimeout(timeoutMs, () => { socket.destroy(); reject(new Error(`connect timed out after ${timeoutMs} ms`)) })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.setTimeout(0)
      const lines = [
        `GET /${options.path ?? ''}?ticket=${encodeURIComponent(options.ticket ?? '')} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Pragma: no-cache',
        'Cache-Control: no-cache',
        'Upgrade: WebSocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Protocol: wamp',
        'Sec-WebSocket-Version: 13',
        'Origin: 127.0.0.1'
      ]
      if (options.userAgent !== undefined) lines.push(`User-Agent: ${options.userAgent}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      // The one read: the first chunk that arrives (what a non-blocking read loop that stops at the
      // first empty read after data would get when the server writes 101 + WELCOME at once).
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(timer)
        socket.pause() // never read again
        const response = chunk.toString('latin1')
        if (!response.startsWith('HTTP/1.1 101')) { socket.destroy(); reject(new Error(`not a 101: ${response.split('\r\n')[0] ?? ''}`)); return }
        const start = response.indexOf('[')
        const end = response.indexOf(']')
        if (start === -1 || end < start) { socket.destroy(); reject(new Error('no WELCOME between the first [ and ]')); return }
        const welcome = JSON.parse(response.slice(start, end + 1)) as unknown[]
        if (welcome[0] !== 0) { socket.destroy(); reject(new Error(`not a WELCOME: ${JSON.stringify(welcome)}`)); return }
        resolve({
          socket,
          response,
          sessionId: welcome[1] as string,
          publish: (topic, payload, exclude = [], eligible = []) => {
            socket.write(maskedTextFrame(JSON.stringify([7, topic, payload, exclude, eligible])))
          },
          close: () => socket.destroy()
        })
      })
    })
  })
}
