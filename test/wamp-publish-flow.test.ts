// Inbound limits of a WAMP publisher: the pure flow-control logic, then a backend session over a
// real socket that publishes faster than allowed: it is paused, nothing is lost, order is kept.
import { test } from 'tap'
import { PAUSE_PENDING, PAUSE_RATE, PublishFlow } from '../src/wamp/publish-flow.js'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'

function recorder (): { events: string[], pause: () => void, resume: () => void, paused: (r: number) => void } {
  const events: string[] = []
  return { events, pause: () => events.push('pause'), resume: () => events.push('resume'), paused: (r) => events.push(`paused ${r}`) }
}

test('pending: reading pauses when the bound is still reached after the turn, and resumes at half of it', async (t) => {
  const r = recorder()
  const flow = new PublishFlow({ ratePerSecond: 0, maxPending: 4, ...r })
  for (let i = 0; i < 4; i++) flow.started()
  for (let i = 0; i < 4; i++) flow.settled()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(r.events, [], 'settled within the turn (a broker that takes them at once): no pause')
  for (let i = 0; i < 3; i++) flow.started()
  flow.started()
  t.same(r.events, [], 'not within the turn')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(r.events, ['pause', `paused ${PAUSE_PENDING}`], 'still owed after it: paused')
  flow.started() // a frame already read arrives anyway: counted, no second pause
  t.equal(flow.pending, 5)
  flow.settled(); flow.settled()
  t.equal(r.events.length, 2, 'still over half')
  flow.settled()
  t.same(r.events.slice(2), ['resume'], 'at half the bound')
  t.equal(flow.pausedFor, 0)
})

test('rate: past a second\'s burst, publishes wait for their tokens in order while reading pauses', async (t) => {
  let now = 0
  const r = recorder()
  const flow = new PublishFlow({ ratePerSecond: 1000, maxPending: 1e6, now: () => now, ...r })
  const published: number[] = []
  for (let i = 0; i < 1000; i++) flow.submit(() => { published.push(i) })
  t.equal(published.length, 1000, 'a second\'s worth of burst goes at once')
  t.same(r.events, [])
  // One TCP read's worth more: held, not published on credit (issue 18).
  for (let i = 1000; i < 1003; i++) flow.submit(() => { published.push(i) })
  t.equal(published.length, 1000, 'over the rate: held')
  t.equal(flow.held, 3)
  t.same(r.events, ['pause', `paused ${PAUSE_RATE}`])
  now += 3
  await new Promise((resolve) => setTimeout(resolve, 10)) // the token timer has run
  t.same(published.slice(1000), [1000, 1001, 1002], 'published as tokens came back, in order')
  t.same(r.events.slice(2), ['resume'])
  flow.stop()
})

test('a backend publishing over ORO_WEBSOCKET_PUBLISH_RATE_LIMIT is slowed, not dropped; order kept', async (t) => {
  const { app, port, wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_PUBLISH_RATE_LIMIT: '200' }, 'dev', 'info')
  const sub = await connectWamp(wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()
  const pausesBefore = app.stats.publishPauses
  const php = await connectPhpBackend(port)
  t.teardown(() => php.close())
  const EVENTS = 400 // two seconds' worth at 200/s: the first 200 are the burst
  for (let i = 0; i < EVENTS; i++) php.publish('t', i)
  const events = await sub.waitForEvents(EVENTS, 't', 20_000)
  t.same(events, Array.from({ length: EVENTS }, (_, i) => i), 'every event, in order')
  t.ok(app.stats.publishPauses > pausesBefore, 'the publisher was paused')
  t.equal(app.stats.publishesDropped, 0, 'nothing dropped')
  const paused = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publisher paused'))
  t.equal(paused.length, 1, 'logged once (throttled)')
  t.equal(paused[0]?.setting, 'ORO_WEBSOCKET_PUBLISH_RATE_LIMIT')
  t.equal(app.sessions.size, 2)
})

test('the rate holds per message, not per TCP read: a flooding backend gets no more than its rate', async (t) => {
  const RATE = 100
  const { port, wsUrl } = await startApp(t, { ORO_WEBSOCKET_PUBLISH_RATE_LIMIT: String(RATE) }, 'dev', 'info')
  const sub = await connectWamp(wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()
  const php = await connectPhpBackend(port)
  t.teardown(() => php.close())
  const started = performance.now()
  for (let i = 0; i < 1000; i++) php.publish('t', i) // ten seconds' worth, in a few TCP reads
  await sub.waitForEvents(RATE + 50, 't', 20_000)
  // An upper bound only: a busy machine delivers fewer, never more. The burst (one second's
  // worth) plus the rate since the first frame was sent, plus one for rounding.
  const elapsed = (performance.now() - started) / 1000
  const got = sub.events('t').length
  t.ok(got <= RATE + Math.ceil(RATE * elapsed) + 1, `${got} events in ${elapsed.toFixed(2)} s at ${RATE}/s (before issue 18: ~4x)`)
  t.same(sub.events('t'), Array.from({ length: got }, (_, i) => i), 'in order')
})

test('a backend with too many publishes the broker has not taken is paused, then resumed', async (t) => {
  const { app, port, wsUrl } = await startApp(t, { ORO_WEBSOCKET_MAX_PENDING_PUBLISHES: '10' }, 'dev', 'info')
  const sub = await connectWamp(wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()
  // A broker that takes publications only when told to: they stay pending.
  const broker = app.broker
  const publish = broker.publish.bind(broker)
  const held: Array<() => void> = []
  let holding = true
  broker.publish = (publication) => holding
    ? new Promise((resolve, reject) => { held.push(() => { publish(publication).then(resolve, reject) }) })
    : publish(publication)
  const php = await connectPhpBackend(port)
  t.teardown(() => php.close())
  const session = [...app.sessions].find((s) => s.id === php.sessionId)
  for (let i = 0; i < 30; i++) php.publish('t', i)
  const pausesBefore = app.stats.publishPauses
  while (held.length < 10) await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve)) // the turn after: still owed
  // Reading stopped at 10 pending (frames of the same TCP read may still come in).
  t.equal(session?.readingPaused, true, 'reading is paused')
  t.equal(app.stats.publishPauses, pausesBefore + 1, 'counted')
  holding = false
  for (const release of held.splice(0)) release()
  const events = await sub.waitForEvents(30, 't')
  t.same(events, Array.from({ length: 30 }, (_, i) => i), 'all delivered, in order, once resumed')
  t.equal(session?.readingPaused, false, 'reading again')
})
