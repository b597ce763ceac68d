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
