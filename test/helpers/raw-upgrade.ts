// One WebSocket upgrade request over plain node:http, for tests that send many of them and only
// care about the answer (status, headers, body): cheaper than a full client, and it can bind to
// another loopback address (localAddress) to play a client from another network.
import { request } from 'node:http'
import { randomBytes } from 'node:crypto'

export interface UpgradeAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** Set when the status is 101: the caller owns the socket (destroy it when done). */
  destroy: () => void
}

export async function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<UpgradeAnswer> {
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      ...(localAddress !== undefined ? { localAddress } : {}),
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'wamp',
        ...headers
      }
    })
    req.once('upgrade', (res, socket) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', destroy: () => socket.destroy() })
    })
    req.once('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, destroy: () => {} }))
    })
    req.once('error', reject)
    req.end()
  })
}

/** A ticket that parses (base64, four fields, a fresh creation time) but whose digest is random. */
export function forgedTicket (username = ''): string {
  const created = new Date().toISOString().slice(0, 19) + '+00:00'
  return Buffer.from(`${randomBytes(64).toString('base64')};${username};${randomBytes(8).toString('hex')};${created}`).toString('base64')
}
