import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'

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
