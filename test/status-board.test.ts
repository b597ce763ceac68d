// The status page's arithmetic: the ring of samples, per-second rates, the chart's series, the
// top topics, and a snapshot read from the real counters.
import { test } from 'tap'
import { History, type Sample } from '../src/status/history.js'
import { StatusBoard, topTopics, type StatusSource } from '../src/status/board.js'
import { GatewayStats } from '../src/stats.js'

const sample = (at: number, deliveries: number, connections = 0): Sample =>
  ({ at, publishes: deliveries / 10, deliveries, opened: 0, refused: 0, dropped: 0, connections })

test('the history keeps at most its capacity, oldest first', async (t) => {
  const history = new History(4, 1000)
  t.equal(history.size, 0)
  t.same(history.series().deliveries, [], 'no series before two samples')
  for (let i = 0; i < 10; i++) history.record(sample(i * 1000, i * 100, i))
  t.equal(history.size, 4, 'bounded')
  const series = history.series()
  t.same(series.connections, [7, 8, 9], 'the last samples, oldest first (one per interval)')
  t.same(series.deliveries, [100, 100, 100], 'deliveries per second between samples')
  t.same(series.ages, [2, 1, 0], 'seconds before the latest')
  t.throws(() => new History(1, 1000), RangeError)
})

test('rates over a window; a total that goes down counts as no change', async (t) => {
  const history = new History(100, 1000)
  t.same(history.rates().deliveries, 0, 'zero before any sample')
  for (let i = 0; i <= 20; i++) history.record(sample(i * 1000, i < 15 ? i * 50 : 700 + (i - 14) * 300))
  t.equal(history.rates(5).deliveries, 300, 'the last 5 s: 300/s')
  t.equal(history.rates(1000).deliveries, history.rates(20).deliveries, 'a window longer than the history uses all of it')
  const reset = new History(10, 1000)
  reset.record(sample(0, 500)); reset.record(sample(1000, 10))
  t.equal(reset.rates().deliveries, 0)
  t.same(reset.series().deliveries, [0])
})

test('top topics: the most subscribed first, ties by name, at most n', async (t) => {
  const counts: Record<string, number> = { a: 1, b: 5, c: 3, d: 5, e: 0, f: 9 }
  const count = (topic: string): number => counts[topic] as number
  t.same(topTopics(Object.keys(counts), count, 3), [{ topic: 'f', subscribers: 9 }, { topic: 'b', subscribers: 5 }, { topic: 'd', subscribers: 5 }])
  t.same(topTopics(Object.keys(counts).reverse(), count, 3).map((x) => x.topic), ['f', 'b', 'd'], 'whatever the order they come in')
  t.same(topTopics(Object.keys(counts), count, 10).map((x) => x.topic), ['f', 'b', 'd', 'c', 'a', 'e'], 'fewer topics than n: all, sorted')
  t.same(topTopics(Object.keys(counts), count, 0), [])
})

test('a snapshot reads the counters and the source; rates follow the counters', async (t) => {
  let clock = 0
  const counters = new GatewayStats()
  const source: StatusSource = {
    sessions: () => ({ browser: 2, backend: 1, browserSubscriptions: 4, backendSubscriptions: 0 }),
    sessionCount: () => 3,
    topics: () => ['x', 'y'][Symbol.iterator](),
    subscriberCount: (topic) => topic === 'x' ? 3 : 1,
    topicCount: () => 2,
    readiness: () => ({ ready: true, checks: { server: 'ok', broker: 'ok' } }),
    state: () => 'listening',
    brokerKind: 'memory',
    version: '9.9.9',
    stats: counters
  }
  const board = new StatusBoard(source, { now: () => clock, topTopics: 1 })
  board.sample()
  clock = 2000
  counters.eventsDelivered += 600
  counters.publishesReceived += 6
  const snapshot = board.snapshot()
  t.equal(snapshot.rates.deliveries, 300, 'deliveries per second since the last sample')
  t.equal(snapshot.rates.publishes, 3)
  t.same(snapshot.connections, { browser: 2, backend: 1, total: 3 })
  t.same(snapshot.subscriptions, { browser: 4, backend: 0, total: 4 })
  t.same(snapshot.topics, { count: 2, top: [{ topic: 'x', subscribers: 3 }] })
  t.same(snapshot.broker, { kind: 'memory', state: 'ok', nodes: 1 })
  t.equal(snapshot.database, null, 'no database check: not used')
  t.equal(snapshot.uptimeSeconds, 2)
  t.same(Object.keys(snapshot.drops), ['slow_consumer', 'dead_peer', 'ping_flood', 'protocol_error', 'oversize_frame', 'session_fault', 'shutdown'])
  t.equal(snapshot.totals.deliveries, counters.eventsDelivered)
})

test('the board samples on an unref\'ed timer until stopped', async (t) => {
  const source = { sessionCount: () => 0, stats: new GatewayStats() } as unknown as StatusSource
  const board = new StatusBoard(source, { intervalMs: 10, capacity: 50 })
  board.start()
  board.start()
  t.teardown(() => board.stop())
  const deadline = Date.now() + 30_000
  while (board.samples < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(board.samples >= 3, 'samples are taken')
  board.stop()
  const after = board.samples
  // A witness on the same interval: once it has sampled three times, the stopped board would have too.
  const witness = new StatusBoard(source, { intervalMs: 10, capacity: 50 })
  witness.start()
  t.teardown(() => witness.stop())
  while (witness.samples < 3 && Date.now() < deadline + 30_000) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(witness.samples >= 3, 'three intervals passed')
  t.equal(board.samples, after, 'none after stop()')
})
