import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'

// Issue 16 §3: Ratchet has no practical message limit, and Oro's backend publishes mass updates
// of 100 KB and more with a client that never reads after the handshake. Backend sessions have
// their own limit (ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES); browsers keep the small one.

// A mass edit of 1,300 records: Oro's content-outdating payload, about 100 KB.
function massUpdate (first: number): Array<{ username: string | null, tagname: string }> {
  return Array.from({ length: 1300 }, (_, i) => ({ username: 'admin', tagname: `Oro_Bundle_ProductBundle_Entity_Product_${first + i}` }))
}

// A browser: through the trusted proxy (loopback) for an address outside the backend networks.
const BROWSER = { headers: { 'X-Forwarded-For': '203.0.113.7' } }

test('a 100 KB publish from Oro\'s PHP backend client is delivered, and the next one on that connection too', async (t) => {
  const { wsUrl, port, logs } = await startApp(t, {}, 'dev', 'info')
  const browser = await connectWamp(`${wsUrl}/ws`, BROWSER)
  t.teardown(() => browser.close())
  browser.subscribe('oro/data/update')
  await browser.sync()

  const php = await connectPhpBackend(port, { ticket: 'anonymous-ticket' })
  t.teardown(() => php.close())
  const first = massUpdate(1)
  t.ok(JSON.stringify([7, 'oro/data/update', first, [], []]).length > 100_000, 'the frame is over 100 KB')
  php.publish('oro/data/update', first)
  php.publish('oro/data/update', massUpdate(5000))
  const events = await browser.waitForEvents(2, 'oro/data/update', 30_000)
  t.same(events[0], first, 'the large publish arrived whole')
  t.equal((events[1] as unknown[]).length, 1300, 'and the next publish on the same connection too')
  t.notOk(logs.some((l) => typeof l.msg === 'string' && l.msg.includes('1009')), 'no session was closed for size')
})

test('a browser session over the browser limit is still closed with 1009, logged at error with session, size and setting', async (t) => {
  const { wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_FRAME_BYTES: '2048' }, 'dev', 'info')
  const browser = await connectWamp(`${wsUrl}/ws`, BROWSER)
  browser.subscribe('x'.repeat(3000))
  const closed = await browser.closed
  t.equal(closed.code, 1009)
  const line = logs.find((l) => typeof l.msg === 'string' && l.msg.includes('1009'))
  t.equal(line?.level, 'error')
  t.equal(line?.sessionId, browser.sessionId)
  t.equal(line?.setting, 'ORO_WEBSOCKET_MAX_FRAME_BYTES')
  t.equal(line?.limit, 2048)
  t.equal(line?.backend, false)
  // The frame's own header told its length: the message's size, exactly.
  const sent = Buffer.byteLength(JSON.stringify([5, 'x'.repeat(3000)]))
  t.equal(line?.size, sent, 'the message\'s actual size')
  t.equal(line?.sizeExact, true)
  t.match(line?.msg, new RegExp(`a message of ${sent} bytes, over the limit of 2048 bytes \\(ORO_WEBSOCKET_MAX_FRAME_BYTES\\)`))

  const ok = await connectWamp(`${wsUrl}/ws`, BROWSER)
  t.teardown(() => ok.close())
  ok.subscribe('y'.repeat(1500))
  await ok.sync()
  t.equal(ok.ws.readyState, WebSocket.OPEN, 'a message under the limit is fine')
})

test('a backend over its own limit is closed with 1009 and the log names ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES', async (t) => {
  const { wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_FRAME_BYTES: '2048', ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES: '65536' }, 'dev', 'info')
  const backend = await connectWamp(`${wsUrl}/ws`)
  backend.publish('t', 'x'.repeat(10_000))
  await backend.sync()
  t.equal(backend.ws.readyState, WebSocket.OPEN, '10 KB from a backend: over the browser limit, under its own')
  backend.publish('t', 'x'.repeat(70_000))
  const closed = await backend.closed
  t.equal(closed.code, 1009)
  const line = logs.find((l) => typeof l.msg === 'string' && l.msg.includes('1009'))
  t.equal(line?.level, 'error')
  t.equal(line?.setting, 'ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES')
  t.equal(line?.limit, 65536)
  t.equal(line?.backend, true)
  t.equal(line?.sessionId, backend.sessionId)
})

test('a fragmented message over the limit: the log gives the bytes it had reached (at least), not a size it cannot know', async (t) => {
  const { wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_FRAME_BYTES: '2048' }, 'dev', 'info')
  const browser = await connectWamp(`${wsUrl}/ws`, BROWSER)
  // Three frames of 1,000 bytes without FIN: ws stops at the third header (3,000 > 2,048).
  const part = 'x'.repeat(1000)
  browser.ws.send(`[5,"${part.slice(4)}`, { fin: false })
  browser.ws.send(part, { fin: false })
  browser.ws.send(part, { fin: false })
  const closed = await browser.closed
  t.equal(closed.code, 1009)
  const line = logs.find((l) => typeof l.msg === 'string' && l.msg.includes('1009'))
  t.equal(line?.size, 3000, 'the bytes announced so far')
  t.equal(line?.sizeExact, false)
  t.match(line?.msg, /a message of at least 3000 bytes \(a fragmented message, stopped before its last frame\), over the limit of 2048 bytes/)
})
