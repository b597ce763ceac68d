// Redis can hand a node events faster than its fan-outs write them out, and nothing pushes back on
// that path: the hub's queue is bounded (maxQueuedBytes, beyond its largest publication), what
// passes the bound is shed and counted, and every event is either delivered, in order, or counted
// as shed. A publication larger than the bound, or two large ones, are not shed while the queue is
// otherwise small.
import { test } from 'tap'
import { Hub, type HubClient } from '../src/broker/hub.js'
import { RedisBroker } from '../src/broker/redis-broker.js'
import { GatewayStats } from '../src/stats.js'
import { redisOptions, startRedis, until } from './helpers/redis.js'

const silent = { info: () => {}, warn: () => {}, error: () => {} }

test('a flood of Redis messages keeps the hub\'s queue under its bound; the excess is shed and counted', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const BOUND = 64 * 1024
  const SUBSCRIBERS = 20
  let shedReports = 0
  // One publication per turn of the event loop (20 deliveries), many more per Redis read.
  const stats = new GatewayStats()
  const hub = new Hub({ stats, writesPerTurn: SUBSCRIBERS, maxQueuedBytes: BOUND, onShed: () => { shedReports++ } })
  let most = 0
  const broker = new RedisBroker({
    target: { kind: 'redis', host: '127.0.0.1', port: redis.port, db: 0, tls: false },
    prefix: 'flood:',
    deliver: (publication) => {
      hub.broadcast(publication)
      if (hub.queuedBytes > most) most = hub.queuedBytes
    },
    log: silent,
    settleMs: 0
  })
  hub.setInterest({ first: (topic) => broker.subscribe(topic), last: (topic) => broker.unsubscribe(topic) })
  t.teardown(() => broker.close())
  const seen: number[][] = []
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const got: number[] = []
    seen.push(got)
    const client: HubClient = {
      id: `c${i}`,
      write (frame: Buffer) {
        // Frames here have a 4-byte header (payloads of 126 bytes to 64 KiB); merged ones follow each other.
        for (let at = 0; at < frame.length;) {
          const length = frame.readUInt16BE(at + 2)
          got.push((JSON.parse(frame.subarray(at + 4, at + 4 + length).toString())[2] as { n: number }).n)
          at += 4 + length
        }
        return true
      }
    }
    hub.addClient(client)
    hub.subscribe('t', client)
  }
  await until(async () => broker.readiness() === 'ok' && (await redis.subscribers('flood:t')) === 1, 'the node to be subscribed')

  const N = 5000
  const pad = 'x'.repeat(1000)
  const shedBefore = stats.publicationsShed
  const pipeline = redis.client.pipeline()
  for (let n = 0; n < N; n++) pipeline.publish('flood:t', `\n{"n":${n},"pad":"${pad}"}`)
  await pipeline.exec()
  const shed = (): number => stats.publicationsShed - shedBefore
  await until(() => (seen[0] as number[]).length + shed() === N, 'every event delivered or shed', 30_000)

  // Shed past the bound beyond the largest queued publication (about 1 KB here).
  t.ok(most <= BOUND + 2048, `the queue never held more than its bound and one publication (at most ${most} of ${BOUND} bytes)`)
  t.ok(shed() > 0, `events past the bound were shed (${shed()} of ${N})`)
  t.equal(shedReports, shed(), 'each one reported (for the throttled log line)')
  for (const got of seen) {
    t.equal(got.length + shed(), N, 'no event lost without a count')
    let ordered = true
    for (let i = 1; i < got.length; i++) if ((got[i] as number) <= (got[i - 1] as number)) ordered = false
    if (!ordered) t.fail('delivered out of order')
  }
  t.same(seen[0], seen[SUBSCRIBERS - 1], 'every subscriber got the same events')
  t.equal(hub.queuedBytes, 0, 'drained')
})

test('events from Redis larger than the bound, or two large ones, are not shed while the queue is otherwise small', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const BOUND = 256 * 1024
  const stats = new GatewayStats()
  const queuedAtArrival: number[] = []
  // One write per turn, each taking 1 ms: the queue stays busy with small events for a second.
  const hub = new Hub({ stats, writesPerTurn: 1, maxQueuedBytes: BOUND })
  const broker = new RedisBroker({
    target: { kind: 'redis', host: '127.0.0.1', port: redis.port, db: 0, tls: false },
    prefix: 'large:',
    deliver: (publication) => {
      if (publication.payload.length > 100 * 1024) queuedAtArrival.push(hub.queuedBytes)
      hub.broadcast(publication)
    },
    log: silent,
    settleMs: 0
  })
  hub.setInterest({ first: (topic) => broker.subscribe(topic), last: (topic) => broker.unsubscribe(topic) })
  t.teardown(() => broker.close())
  const sizes: number[] = []
  const client: HubClient = {
    id: 'c',
    write (frame: Buffer) {
      const until = performance.now() + 1
      while (performance.now() < until);
      sizes.push(frame.length)
      return true
    }
  }
  hub.addClient(client)
  hub.subscribe('t', client)
  await until(async () => broker.readiness() === 'ok' && (await redis.subscribers('large:t')) === 1, 'the node to be subscribed')

  const SMALL = 1000
  for (let n = 0; n < SMALL; n++) hub.broadcast({ topic: 't', payload: String(n) })
  const smallBytes = hub.queuedBytes
  t.ok(smallBytes < BOUND / 2, `small events queued: ${smallBytes} bytes`)
  const pipeline = redis.client.pipeline()
  pipeline.publish('large:t', `\n{"pad":"${'x'.repeat(300 * 1024)}"}`) // larger than the bound
  pipeline.publish('large:t', `\n{"pad":"${'y'.repeat(150 * 1024)}"}`) // with it, over the bound
  await pipeline.exec()
  await until(() => sizes.filter((n) => n > 100 * 1024).length + stats.publicationsShed >= 2, 'both delivered or shed', 30_000)
  t.ok(queuedAtArrival.length === 2 && (queuedAtArrival[0] as number) > 0 && (queuedAtArrival[0] as number) < BOUND / 2,
    `the first arrived while small events were still queued (${queuedAtArrival.join(', ')} bytes queued at their arrivals)`)
  t.ok((queuedAtArrival[1] as number) > BOUND, 'the second arrived with the queue over the bound (the first in it)')
  t.equal(stats.publicationsShed, 0, 'none shed')
  t.equal(sizes.filter((n) => n > 100 * 1024).length, 2, 'both delivered')
  await until(() => sizes.length === SMALL + 2, 'the queue to drain')
  t.equal(hub.queuedBytes, 0, 'drained')
})
