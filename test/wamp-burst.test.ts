// A subscriber that reads promptly is never dropped as slow, however big one turn's burst for it
// is: the cap counts what the kernel left from earlier turns, not what this turn holds corked.
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

test('a burst of 400 events of 8 KB in one turn reaches a prompt reader in full', async (t) => {
  const { app, wsUrl } = await startApp(t, { ORO_WEBSOCKET_MAX_BUFFERED_BYTES: String(1024 * 1024) }, 'dev', 'info')
  const sub = await connectWamp(wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('burst')
  await sub.sync()
  const dropsBefore = app.stats.slowConsumerDrops
  const payload = JSON.stringify('x'.repeat(8 * 1024))
  const EVENTS = 400 // 3.2 MB in one turn, three times the cap
  const receipts: Array<Promise<unknown>> = []
  for (let i = 0; i < EVENTS; i++) receipts.push(app.broker.publish({ topic: 'burst', payload }))
  await Promise.all(receipts)
  const events = await sub.waitForEvents(EVENTS, 'burst', 30_000)
  t.equal(events.length, EVENTS, 'every event arrived')
  t.equal(app.stats.slowConsumerDrops, dropsBefore, 'nobody was dropped')
  t.equal(app.hub.subscriberCount('burst'), 1, 'the subscriber is still subscribed')
})
