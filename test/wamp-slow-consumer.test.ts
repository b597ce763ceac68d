import { test } from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend, maskedTextFrame } from './helpers/php-backend-client.js'

test('a client that stops reading is dropped at the cap; the others keep receiving; memory stays bounded', async (t) => {
  const { app, wsUrl, port, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_BUFFERED_BYTES: String(1024 * 1024) }, 'dev', 'info')
  const healthy = await connectWamp(wsUrl)
  t.teardown(() => healthy.close())
  healthy.subscribe('big')
  await healthy.sync()

  // A raw client that subscribes and then never reads again.
  const stuck = await connectPhpBackend(port)
  t.teardown(() => stuck.close())
  stuck.socket.write(maskedTextFrame('[5,"big"]'))
  while (app.hub.subscriberCount('big') < 2) await turn()

  const rssBefore = process.memoryUsage().rss
  const payload = JSON.stringify('x'.repeat(16 * 1024))
  const EVENTS = 1500 // 24 MB: far more than the kernel's socket buffers plus the 1 MiB cap
  for (let i = 0; i < EVENTS; i++) {
    await app.broker.publish({ topic: 'big', payload })
    if (i % 20 === 0) await turn()
  }
  await healthy.waitForEvents(EVENTS, 'big', 60_000)
  const rssGrowth = process.memoryUsage().rss - rssBefore

  const drop = logs.find((l) => l.msg === 'slow consumer dropped: unsent bytes over the cap (ORO_WEBSOCKET_MAX_BUFFERED_BYTES)')
  t.ok(drop, 'the drop is logged')
  t.equal(drop?.sessionId, stuck.sessionId, 'it was the stuck client')
  t.equal(drop?.level, 'warn')
  t.equal(app.hub.subscriberCount('big'), 1, 'the stuck client left the topic')
  t.equal(healthy.events('big').length, EVENTS, 'the healthy subscriber got every event')
  t.ok(rssGrowth < 200 * 1024 * 1024, `memory stayed bounded (RSS grew ${Math.round(rssGrowth / 1024 / 1024)} MB for ${EVENTS * 16 / 1024} MB published)`)
})

test('250 odd frames from distinct clients do not push a real warning (slow consumer) out of the log', async (t) => {
  const { app, wsUrl, port, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_BUFFERED_BYTES: String(1024 * 1024) }, 'dev', 'info')
  // Each frame a different text from a different address (through the trusted proxy): before
  // issue 18 each made a throttle key of its own, and past 200 the real warnings shared "other".
  for (let batch = 0; batch < 250; batch += 25) {
    await Promise.all(Array.from({ length: 25 }, async (_, j) => {
      const i = batch + j
      const odd = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': `198.51.100.${i % 250}, 203.0.113.${i % 250}` } })
      const closed = new Promise<number>((resolve) => odd.ws.once('close', (code) => resolve(code)))
      odd.ws.send(`[${100 + i}]`)
      t.equal(await closed, 1007)
    }))
  }
  t.ok(logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('closing session: unknown or server-only message type')).length >= 200, 'the odd frames were logged (one line per client)')

  const stuck = await connectPhpBackend(port)
  t.teardown(() => stuck.close())
  stuck.socket.write(maskedTextFrame('[5,"big"]'))
  while (app.hub.subscriberCount('big') < 1) await turn()
  const payload = JSON.stringify('x'.repeat(16 * 1024))
  for (let i = 0; i < 1500 && app.hub.subscriberCount('big') > 0; i++) {
    await app.broker.publish({ topic: 'big', payload })
    if (i % 20 === 0) await turn()
  }
  t.equal(app.hub.subscriberCount('big'), 0, 'the stuck client was dropped')
  t.ok(logs.some((l) => l.msg === 'slow consumer dropped: unsent bytes over the cap (ORO_WEBSOCKET_MAX_BUFFERED_BYTES)' && l.sessionId === stuck.sessionId), 'and its warning is in the log')
})
