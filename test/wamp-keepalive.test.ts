import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp, TEST_ORIGIN } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'
import { KeepAlive } from '../src/wamp/keepalive.js'
import { Hub } from '../src/broker/hub.js'
import { GatewayStats } from '../src/stats.js'
import type { WampSession } from '../src/wamp/session.js'

async function until (check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(50)
  }
}

test('pings: a peer that answered and then goes silent is dropped; one that never answers is kept', async (t) => {
  const { app, wsUrl, port, logs } = await startApp(t, { ORO_WEBSOCKET_PING_INTERVAL: '1', ORO_WEBSOCKET_KEEPALIVE_INTERVAL: '0' })
  const browser = await connectWamp(wsUrl) // ws answers pings by itself
  const dying = await connectWamp(wsUrl)
  const backend = await connectPhpBackend(port) // never reads, never answers
  t.teardown(() => { browser.close(); dying.close(); backend.close() })
  let pings = 0
  browser.ws.on('ping', () => { pings++ })
  // The dying browser answers its first ping, then its socket stops being read.
  await new Promise<void>((resolve) => dying.ws.once('ping', () => resolve()))
  await until(() => [...app.sessions].some((s) => s.id === dying.sessionId && s.pongs > 0))
  dying.ws.pause()
  await until(() => logs.some((l) => l.msg === 'session dropped: two pings unanswered' && l.sessionId === dying.sessionId))
  t.pass('the silent peer was dropped after answering before')
  await until(() => pings >= 4)
  const alive = [...app.sessions].map((s) => s.id)
  t.ok(alive.includes(browser.sessionId), 'the answering browser stays')
  t.ok(alive.includes(backend.sessionId), 'the PHP backend, which never answers, stays')
  t.notOk(alive.includes(dying.sessionId))
  t.equal(browser.ws.readyState, WebSocket.OPEN)
})

test('oro/ping gets "Connection keep alive" while it has subscribers', async (t) => {
  const { wsUrl } = await startApp(t, { ORO_WEBSOCKET_PING_INTERVAL: '0', ORO_WEBSOCKET_KEEPALIVE_INTERVAL: '1' })
  const c = await connectWamp(wsUrl)
  t.teardown(() => c.close())
  c.subscribe('oro/ping')
  const events = await c.waitForEvents(2, 'oro/ping')
  t.same(events, ['Connection keep alive', 'Connection keep alive'])
})

test('a browser that never answers a ping (frozen before the first) is dropped; the PHP backend is not', async (t) => {
  const { app, wsUrl, port, logs } = await startApp(t, { ORO_WEBSOCKET_PING_INTERVAL: '1', ORO_WEBSOCKET_KEEPALIVE_INTERVAL: '0' })
  // Through the trusted proxy (loopback) for an outside address: a browser, not a backend session.
  const frozen = new WebSocket(wsUrl, ['wamp'], { headers: { Origin: TEST_ORIGIN, 'X-Forwarded-For': '203.0.113.7' }, autoPong: false, perMessageDeflate: false })
  t.teardown(() => { frozen.terminate() })
  const welcome = await new Promise<unknown[]>((resolve, reject) => {
    frozen.once('message', (data) => resolve(JSON.parse(String(data)) as unknown[]))
    frozen.once('error', reject)
  })
  const closing = new Promise<number>((resolve) => frozen.once('close', (code) => resolve(code)))
  const backend = await connectPhpBackend(port) // never reads, never answers
  t.teardown(() => { backend.close() })
  const sessionId = String(welcome[1])
  const session = [...app.sessions].find((s) => s.id === sessionId)
  t.equal(session?.canPublish, false, 'a browser session')
  // Three ticks of a 1 s interval; 20 s is a generous deadline on a busy machine.
  const closed = await Promise.race([closing, sleep(20_000).then(() => 'still open after 20 s')])
  t.equal(closed, 1006, 'dropped without a close frame (Oro\'s browser code reconnects)')
  t.ok(logs.some((l) => l.msg === 'session dropped: two pings unanswered' && l.sessionId === sessionId && l.answeredBefore === false), 'logged as a dead peer')
  // The backend has missed as many pings by now, and stays.
  await until(() => [...app.sessions].some((s) => s.id === backend.sessionId && s.missedPings >= 3))
  t.ok([...app.sessions].some((s) => s.id === backend.sessionId), 'the PHP backend, which never answers, stays')
})

test('pings are spread over the interval, not written to every session in one turn', async (t) => {
  const writes: Array<{ id: string, at: number }> = []
  const sessions = new Set<WampSession>()
  for (let i = 0; i < 300; i++) {
    const id = `s${i}`
    sessions.add({ id, user: 'anonymous', alive: true, pongs: 1, missedPings: 0, canPublish: false, drop () {}, write () { writes.push({ id, at: performance.now() }); return true } } as unknown as WampSession)
  }
  const keepAlive = new KeepAlive(sessions, new Hub(), { pingIntervalMs: 600, keepaliveIntervalMs: 0, log: { info () {} }, stats: new GatewayStats() })
  keepAlive.start()
  t.teardown(() => { keepAlive.stop() })
  await until(() => writes.length >= 300, 30_000)
  keepAlive.stop()
  const first = writes.slice(0, 300)
  t.equal(new Set(first.map((w) => w.id)).size, 300, 'every session pinged once in a round')
  const span = (first[299]?.at ?? 0) - (first[0]?.at ?? 0)
  // 30 ticks of 20 ms: the first and the last ping of a round are most of an interval apart
  // (a busy machine only makes the ticks later, never closer).
  t.ok(span >= 300, `the round took ${span.toFixed(0)} ms, over half the 600 ms interval`)
  const turns = new Set(first.map((w) => w.at.toFixed(0)))
  t.ok(turns.size >= 10, `pings written at ${turns.size} different moments`)
})

test('a ping flood (pongs never read) is dropped and counted in oro_ws_sessions_dropped_total', async (t) => {
  const { app, wsUrl, url, logs } = await startApp(t, { ORO_WEBSOCKET_PING_INTERVAL: '0', ORO_WEBSOCKET_KEEPALIVE_INTERVAL: '0' })
  const flooded = async (): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text()
    return Number(/^oro_ws_sessions_dropped_total\{reason="ping_flood"\} (\d+)/m.exec(text)?.[1] ?? 'NaN')
  }
  const before = await flooded()
  const client = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.8' } })
  t.teardown(() => { client.close() })
  const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)))
  // Stop reading, then ping much faster than anyone could read the pongs.
  const socket = (client.ws as unknown as { _socket: { pause (): void, resume (): void } })._socket
  socket.pause()
  for (let i = 0; i < 5000 && client.ws.readyState === WebSocket.OPEN; i++) client.ws.ping(Buffer.alloc(125))
  socket.resume()
  t.equal(await Promise.race([closed, sleep(20_000).then(() => 'still open after 20 s')]), 1006, 'dropped without a close frame')
  t.equal(await flooded(), before + 1, 'counted as ping_flood')
  t.ok(logs.some((l) => l.msg === 'session dropped: ping flood (60 pongs unread)' && l.sessionId === client.sessionId), 'logged')
  await until(() => ![...app.sessions].some((s) => s.id === client.sessionId))
})
