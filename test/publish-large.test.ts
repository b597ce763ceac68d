// Issue 16 §3, what follows from it: Oro's backend publishes mass edits larger than 1 MB, which
// WAMP backend sessions take (ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES, 16 MiB). POST /publish takes
// the same by default, and reads no body before the publish key is checked: an unauthenticated
// client cannot make the gateway read or hold a large body.
import { test } from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

const KEY = 'publish-key-0123456789'
const ENV = { ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' }

// A mass edit: Oro's content-outdating payload for `count` records (~75 bytes each).
function massUpdate (first: number, count: number): Array<{ username: string | null, tagname: string }> {
  return Array.from({ length: count }, (_, i) => ({ username: 'admin', tagname: `Oro_Bundle_ProductBundle_Entity_Product_${first + i}` }))
}

test('a mass edit of 3 MB over POST /publish is delivered, as over WAMP', async (t) => {
  const gw = await startApp(t, ENV, 'dev', 'info')
  const browser = await connectWamp(`${gw.wsUrl}/ws`, { localAddress: '127.0.0.2' })
  t.teardown(() => browser.close())
  browser.subscribe('oro/data/update')
  await browser.sync()
  const data = massUpdate(1, 40_000)
  const body = JSON.stringify({ topic: 'oro/data/update', data })
  t.ok(body.length > 3 * 1024 * 1024, `the body is over 3 MB (${Math.round(body.length / 1024)} KB)`)
  const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body })
  t.equal(res.status, 202, `accepted: ${res.status === 202 ? '' : await res.text()}`)
  const [event] = await browser.waitForEvents(1, 'oro/data/update', 30_000)
  t.equal((event as unknown[]).length, 40_000, 'delivered whole')
})

/**
 * A POST /publish head announcing `length` bytes and the first 64 KB of the body; then nothing
 * until the answer comes (a gateway that read the body before answering would never answer);
 * then the rest, as fast as the gateway takes it, until it closes the connection.
 */
async function largePost (port: number, length: number, authorization: string | null): Promise<{ status: number, head: string, body: string, answeredEarly: boolean, closedByGateway: boolean, sentAfter: number }> {
  const socket: Socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' })
  await once(socket, 'connect')
  socket.on('error', () => {}) // the gateway closes while the body is still being written
  const head = ['POST /publish HTTP/1.1', 'Host: gateway', 'Content-Type: application/json', `Content-Length: ${length}`]
  if (authorization !== null) head.push(`Authorization: ${authorization}`)
  let answer = ''
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1')
      const end = answer.indexOf('\r\n\r\n')
      const bodyLength = Number(/\r\ncontent-length: (\d+)/i.exec(answer)?.[1] ?? -1)
      if (end !== -1 && answer.length >= end + 4 + bodyLength) resolve()
    })
  })
  // Ended by the gateway: its FIN, or its reset (the socket is destroyed with data unread).
  let closedByGateway = false
  socket.on('end', () => { closedByGateway = true })
  const closed = new Promise<void>((resolve) => socket.on('close', () => { closedByGateway = true; resolve() }))
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  socket.write(head.join('\r\n') + '\r\n\r\n')
  socket.write(chunk)
  const answeredEarly = await Promise.race([answered.then(() => true), sleep(15_000, undefined, { ref: false }).then(() => false)])
  // The rest of the body: each chunk once the last one was taken, until the connection ends.
  let sentAfter = 0
  while (64 * 1024 + sentAfter < length && !socket.destroyed && !closedByGateway) {
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain').catch(() => {}), closed, sleep(5_000, undefined, { ref: false })])
    sentAfter += chunk.length
  }
  await Promise.race([closed, sleep(5_000, undefined, { ref: false })])
  socket.removeAllListeners('close')
  socket.destroy()
  const [headText = '', bodyText = ''] = answer.split('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0), head: headText, body: bodyText, answeredEarly, closedByGateway, sentAfter }
}

test('an unauthenticated 10 MB POST /publish is answered 401 before its body is read; the rest is not read and the gateway holds none of it', async (t) => {
  const gw = await startApp(t, ENV, 'dev', 'info')
  const LENGTH = 10 * 1024 * 1024
  const rssBefore = process.memoryUsage().rss
  const answers = await Promise.all(Array.from({ length: 8 }, async () => await largePost(gw.port, LENGTH, 'Bearer wrong-key')))
  const rssGrowth = process.memoryUsage().rss - rssBefore
  for (const a of answers) {
    t.ok(a.answeredEarly, 'answered with 64 KB of the 10 MB body sent')
    t.equal(a.status, 401, '401')
    t.match(a.body, /GW_ERR_UNAUTHORIZED/)
    t.match(a.head, /\r\nconnection: close/i, 'the answer closes the connection')
    t.ok(a.closedByGateway, `and the gateway closed it without reading the rest (${Math.round(a.sentAfter / 1024)} KB more went into the kernel's buffers)`)
  }
  t.ok(rssGrowth < 40 * 1024 * 1024, `memory did not grow with the bodies (RSS grew ${Math.round(rssGrowth / 1024 / 1024)} MB for ${8 * LENGTH / 1024 / 1024} MB announced)`)
})

test('a body over the limit is answered 413 before it is read, naming the setting and the fix', async (t) => {
  const gw = await startApp(t, ENV, 'dev', 'info')
  const a = await largePost(gw.port, 17 * 1024 * 1024, `Bearer ${KEY}`)
  t.ok(a.answeredEarly, 'answered with 64 KB of the body sent')
  t.equal(a.status, 413)
  const error = JSON.parse(a.body) as { code: string, message: string }
  t.equal(error.code, 'GW_ERR_BODY_TOO_LARGE')
  t.match(error.message, /over 16777216 bytes \(ORO_WEBSOCKET_PUBLISH_MAX_BYTES\)/, 'the default limit is the backend WAMP limit (16 MiB)')
  t.match(error.message, /send smaller batches, or raise ORO_WEBSOCKET_PUBLISH_MAX_BYTES/, 'and it says the fix')
  t.ok(a.closedByGateway, 'the rest of the body is not read')
})

test('ORO_WEBSOCKET_PUBLISH_MAX_BYTES follows ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES unless set', async (t) => {
  const raised = await startApp(t, { ...ENV, ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES: String(32 * 1024 * 1024) }, 'dev', 'info')
  const a = await largePost(raised.port, 33 * 1024 * 1024, `Bearer ${KEY}`)
  t.match(JSON.parse(a.body), { code: 'GW_ERR_BODY_TOO_LARGE', message: /over 33554432 bytes/ })
  const own = await startApp(t, { ...ENV, ORO_WEBSOCKET_PUBLISH_MAX_BYTES: '2048' }, 'dev', 'info')
  const b = await largePost(own.port, 100 * 1024, `Bearer ${KEY}`)
  t.match(JSON.parse(b.body), { code: 'GW_ERR_BODY_TOO_LARGE', message: /over 2048 bytes/ })
})
