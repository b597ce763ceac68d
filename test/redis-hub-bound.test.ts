// Redis can hand a node events faster than its fan-outs write them out, and nothing pushes back on
// that path: the hub's queue is bounded (maxQueuedBytes), what passes the bound is shed and
// counted, and every event is either delivered, in order, or counted as shed.
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

  t.ok(most <= BOUND, `the queue never held more than its bound (at most ${most} of ${BOUND} bytes)`)
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
