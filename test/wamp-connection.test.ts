// One connection owns its socket's bytes (src/wamp/connection.ts): after a Close frame, nothing;
// after the socket ended, no write. Real sockets: a raw client from loopback (a backend session,
// so it can publish to itself) puts a PUBLISH and a Close in one TCP segment, so the server reads
// both in one turn and the hub's fan-out to that session comes after ws answered the Close.
import { test } from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { WebSocketServer, WebSocket } from 'ws'
import { Connection } from '../src/wamp/connection.js'
import { WriteScheduler } from '../src/wamp/socket-writer.js'
import { textFrame } from '../src/wamp/frame.js'
import { startApp } from './helpers/app.js'
import { connectPhpBackend, maskedTextFrame } from './helpers/php-backend-client.js'

const TOPIC = 'oro/data/update'

function maskedClose (code: number): Buffer {
  const payload = Buffer.alloc(2)
  payload.writeUInt16BE(code)
  const mask = randomBytes(4)
  const frame = Buffer.alloc(2 + 4 + 2)
  frame[0] = 0x88
  frame[1] = 0x80 | 2
  mask.copy(frame, 2)
  for (let i = 0; i < 2; i++) frame[6 + i] = (payload[i] as number) ^ (mask[i] as number)
  return frame
}

interface Frame { opcode: number, payload: Buffer }

/** Server frames (unmasked, unfragmented) in the bytes; a cut frame at the end is left out. */
function frames (bytes: Buffer): Frame[] {
  const found: Frame[] = []
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] as number) & 0x0f
    let length = (bytes[at + 1] as number) & 0x7f
    let header = 2
    if (length === 126) { length = bytes.readUInt16BE(at + 2); header = 4 } else if (length === 127) { length = Number(bytes.readBigUInt64BE(at + 2)); header = 10 }
    if (at + header + length > bytes.length) break
    found.push({ opcode, payload: bytes.subarray(at + header, at + header + length) })
    at += header + length
  }
  return found
}

async function backendWithSubscription (t: { teardown (fn: () => unknown): void }): Promise<{ port: number, socket: Socket, received: () => Buffer, serverSockets: Socket[], serverErrors: Error[], until: (check: () => boolean) => Promise<void>, sessions: () => number }> {
  const gw = await startApp(t)
  const serverSockets: Socket[] = []
  const serverErrors: Error[] = []
  gw.app.server.on('upgrade', (_request, socket: Socket) => {
    serverSockets.push(socket)
    socket.on('error', (err) => { serverErrors.push(err) })
  })
  const php = await connectPhpBackend(gw.port)
  t.teardown(() => php.close())
  const response = Buffer.from(php.response, 'latin1')
  let bytes = response.subarray(response.indexOf('\r\n\r\n') + 4)
  const waiters: Array<() => void> = []
  php.socket.on('data', (chunk: Buffer) => {
    bytes = Buffer.concat([bytes, chunk])
    for (const wake of waiters.splice(0)) wake()
  })
  php.socket.resume()
  const until = async (check: () => boolean): Promise<void> => {
    while (!check()) await new Promise<void>((resolve) => { waiters.push(resolve) })
  }
  // Subscribed once the answer to a CALL sent after the SUBSCRIBE is back (frames are handled in order).
  php.socket.write(Buffer.concat([maskedTextFrame(JSON.stringify([5, TOPIC])), maskedTextFrame(JSON.stringify([2, 'sync', 'x']))]))
  await until(() => frames(bytes).some((f) => f.opcode === 1 && f.payload.toString().startsWith('[4,"sync"')))
  return { port: gw.port, socket: php.socket, received: () => bytes, serverSockets, serverErrors, until, sessions: () => gw.app.sessions.size }
}

const publish = (n: number): Buffer => maskedTextFrame(JSON.stringify([7, TOPIC, [{ username: null, tagname: `T_${n}` }], [], []]))
const call = (id: string): Buffer => maskedTextFrame(JSON.stringify([2, id, 'x']))

test('after the client\'s Close, a fan-out to its session writes nothing after the server\'s Close frame', async (t) => {
  const client = await backendWithSubscription(t)
  const ended = once(client.socket, 'close')
  // In one segment: a publish to its own topic (delivered at the end of the turn), two CALLs (the
  // second answer holds the socket's writes for the turn), then the Close that ws answers at once.
  client.socket.write(Buffer.concat([publish(1), call('a'), call('b'), maskedClose(1000)]))
  await ended
  const all = frames(client.received())
  const close = all.findIndex((f) => f.opcode === 0x8)
  t.ok(close !== -1, 'the server answered the Close')
  t.equal(all[close]?.payload.readUInt16BE(0), 1000, 'with the client\'s code')
  t.same(all.slice(close + 1).map((f) => f.payload.toString()), [], 'no frame after the Close frame')
  t.same(client.serverErrors, [], 'no socket error on the server')
})

test('a write after the socket ended neither throws nor emits write-after-end', async (t) => {
  const client = await backendWithSubscription(t)
  const server = client.serverSockets[0] as Socket
  const serverClosed = once(server, 'close')
  // The Close is answered and the socket ended (after the Close frame is written) before the
  // turn's fan-out reaches the session.
  client.socket.write(Buffer.concat([publish(2), maskedClose(1000)]))
  await serverClosed
  await client.until(() => frames(client.received()).some((f) => f.opcode === 0x8))
  t.same(client.serverErrors.map((e) => (e as { code?: string }).code), [], 'no ERR_STREAM_WRITE_AFTER_END (nor any error)')
  const all = frames(client.received())
  t.equal(all.at(-1)?.opcode, 0x8, 'the Close frame is the last one')
})

test('a connection\'s state: open, closing once its Close frame is sent (nothing written after), ended when dropped', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => { wss.close() })
  await once(wss, 'listening')
  const accepted = once(wss, 'connection')
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`)
  const received: string[] = []
  client.on('message', (data) => { received.push(String(data)) })
  const [ws, request] = await accepted as [WebSocket, IncomingMessage]
  const connection = new Connection(ws, request.socket as Socket, new WriteScheduler())
  t.equal(connection.connectionState, 'open')
  t.equal(connection.send(textFrame('one')), true)
  const closed = once(client, 'close')
  connection.close(4000, 'bye')
  t.equal(connection.connectionState, 'closing', 'closing once the Close frame is written')
  t.equal(connection.send(textFrame('two')), false, 'nothing after the Close frame')
  connection.write(textFrame('three')) // the writer's own write is checked too
  const [code] = await closed as [number]
  t.equal(code, 4000)
  t.same(received, ['one'])
  connection.drop()
  t.equal(connection.connectionState, 'ended')
  t.equal(connection.send(textFrame('four')), false)
})
