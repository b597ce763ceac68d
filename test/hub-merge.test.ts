// The hub's publications wait for the end of the turn and leave as one buffer of frames, one
// write per socket (the hub has this one mode: issue 18). Order per topic, exclude/eligible and
// the recipients count stay as they were; the queue is bounded for publications nobody waits for.
import { test } from 'tap'
import { Hub, HOLD_PROBE_MIN, type HubClient } from '../src/broker/hub.js'
import { GatewayStats } from '../src/stats.js'
import type { Publication } from '../src/broker/broker.js'

/** A client that keeps every write (one Buffer per call) and the EVENT payloads in them. */
function recorder (id: string): HubClient & { writes: Buffer[], events: () => string[] } {
  const writes: Buffer[] = []
  return {
    id,
    writes,
    write (frame: Buffer) { writes.push(frame); return true },
    events () {
      const out: string[] = []
      for (const buf of writes) {
        // Unmasked text frames with a 2-byte header (the payloads here are small).
        for (let at = 0; at < buf.length;) {
          const length = buf[at + 1] as number
          out.push(JSON.parse(buf.subarray(at + 2, at + 2 + length).toString())[2] as string)
          at += 2 + length
        }
      }
      return out
    }
  }
}

const pub = (topic: string, n: number | string, extra: Partial<Publication> = {}): Publication => ({ topic, payload: JSON.stringify(String(n)), ...extra })
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('the publications of a turn leave at its end, one write per socket', async (t) => {
  const stats = new GatewayStats()
  const hub = new Hub({ stats })
  const a = recorder('a')
  const b = recorder('b')
  for (const c of [a, b]) { hub.addClient(c); hub.subscribe('t', c) }
  const delivered = stats.eventsDelivered
  hub.broadcast(pub('t', 1))
  hub.broadcast(pub('t', 2))
  const three = hub.deliver(pub('t', 3))
  t.type(three, Promise, 'deliver resolves once written')
  hub.broadcast(pub('t', 4))
  const five = hub.deliverAll([pub('t', 5)])
  t.type(five, Promise, 'a batch of one (POST /publish) waits as well')
  t.equal(hub.queued, 0, 'held for this turn only: nothing waits for a later one')
  t.equal(a.writes.length, 0, 'nothing written during the calls: each waits for the end of the turn')
  t.equal(await three, 2, 'the count of the merged write is each publication\'s')
  t.equal(await five, 2)
  t.same(a.events(), ['1', '2', '3', '4', '5'], 'in order')
  t.same(b.events(), ['1', '2', '3', '4', '5'])
  t.equal(a.writes.length, 1, 'all five in one write')
  t.equal(stats.eventsDelivered - delivered, 10, 'every event counted per socket')
  hub.broadcast(pub('t', 6))
  await turn()
  t.equal(a.writes.length, 2, 'the next turn: the next write')
})

test('a batch goes out as one write per socket; exclude, eligible and other topics keep their place', async (t) => {
  const stats = new GatewayStats()
  const hub = new Hub({ stats })
  const a = recorder('a')
  const b = recorder('b')
  for (const c of [a, b]) { hub.addClient(c); hub.subscribe('t', c) }
  hub.subscribe('u', a)
  const batch = hub.deliverAll([pub('t', 1), pub('t', 2), pub('t', 3)])
  t.type(batch, Promise)
  t.equal(await batch, 6)
  t.equal(a.writes.length, 1, 'the batch: one write')
  t.same(a.events(), ['1', '2', '3'])

  const all = Promise.all([
    hub.deliver(pub('t', 4)),
    hub.deliver(pub('t', 5, { exclude: ['a'] })),
    hub.deliver(pub('t', 6)),
    hub.deliver(pub('u', 7)),
    hub.deliver(pub('t', 8)),
    hub.deliver(pub('t', 9, { eligible: ['b'] })),
    hub.deliver(pub('t', 10))
  ])
  t.same(await all, [2, 1, 2, 1, 2, 1, 2], 'each publication\'s own count')
  t.same(a.events(), ['1', '2', '3', '4', '6', '7', '8', '10'], 'a: not the excluded one, nor one only b was eligible for')
  t.same(b.events(), ['1', '2', '3', '4', '5', '6', '8', '9', '10'], 'b: every one on its topic, in order')
})

test('a merged run counts against the turn\'s write budget as if written one by one', async (t) => {
  const stats = new GatewayStats()
  const hub = new Hub({ writesPerTurn: 4, stats })
  const a = recorder('a')
  const b = recorder('b')
  for (const c of [a, b]) { hub.addClient(c); hub.subscribe('t', c) }
  const yields = stats.fanoutYields
  const batch = hub.deliverAll(Array.from({ length: 6 }, (_, i) => pub('t', i)))
  await turn()
  t.same(a.events(), ['0', '1'], 'two events x two sockets: the budget of a turn')
  t.equal(hub.queued, 4, 'the rest waits for later turns')
  t.equal(await batch, 12)
  t.same(a.events(), ['0', '1', '2', '3', '4', '5'])
  t.equal(a.writes.length, 3, 'two events per write')
  t.ok(stats.fanoutYields > yields, 'counted as yields')
  t.equal(hub.queued, 0)
})

test('holdMs: right after a fan-out that merged two publishers\' calls the next one waits a little for more', async (t) => {
  const hub = new Hub({ holdMs: 200, hotMs: 60_000 })
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('t', a)
  // Two publishers in one turn: one fan-out carrying both calls.
  t.same(await Promise.all([hub.deliver(pub('t', 1)), hub.deliverAll([pub('t', 2)])]), [1, 1])
  t.equal(a.writes.length, 1, 'the first two: one write at the end of their turn')
  const second = hub.deliver(pub('t', 3))
  await turn()
  await turn()
  t.equal(a.writes.length, 1, 'hot, with others publishing: the next fan-out is held')
  hub.broadcast(pub('t', 4))
  const started = performance.now()
  t.equal(await second, 1)
  t.ok(performance.now() - started >= 100, 'held for about holdMs')
  t.equal(a.writes.length, 2, 'what arrived meanwhile joined it')
  t.same(a.events(), ['1', '2', '3', '4'])
})

test('holdMs: a lone publisher sending one at a time (Oro\'s PHP backend) is never held', async (t) => {
  const hub = new Hub({ holdMs: 200, hotMs: 60_000 })
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('t', a)
  for (let i = 1; i <= 5; i++) {
    const done = hub.deliver(pub('t', i))
    t.type(done, Promise, 'waits for the end of its turn')
    await turn()
    await turn()
    t.equal(a.writes.length, i, `publication ${i}: written at the end of its turn, not held for holdMs`)
    t.equal(await done, 1)
  }
  // A batch from one call is one publisher too.
  const batch = hub.deliverAll([pub('t', 6), pub('t', 7)])
  await turn()
  await turn()
  t.equal(a.writes.length, 6, 'a batch after the lone publisher\'s fan-out: not held')
  t.equal(await batch, 2)
  const next = hub.deliver(pub('t', 8))
  await turn()
  await turn()
  t.equal(a.writes.length, 7, 'nor the call after the batch (one call, one publisher)')
  t.equal(await next, 1)
  t.same(a.events(), ['1', '2', '3', '4', '5', '6', '7', '8'])
})

test('holdMs: now and then a lone-looking call is held anyway; when another joins it, holding goes on', async (t) => {
  const hub = new Hub({ holdMs: 50, hotMs: 60_000 })
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('t', a)
  await hub.deliver(pub('t', 0))
  // One call per fan-out (a WAMP publisher with events in flight looks like this until merged):
  // most go at the end of their turn, then one is held to see whether others join.
  let held = -1
  for (let i = 1; i <= 4 * HOLD_PROBE_MIN && held < 0; i++) {
    const writes = a.writes.length
    const done = hub.deliver(pub('t', i))
    await turn()
    await turn()
    if (a.writes.length === writes) {
      held = i
      hub.broadcast(pub('t', `${i}+`)) // another publisher's event, on its way during the hold
    }
    await done
  }
  t.ok(held >= HOLD_PROBE_MIN - 1, `the probe came after a run of unheld fan-outs (call ${held})`)
  t.equal(a.events().at(-1), `${held}+`, 'what arrived during the probe joined its fan-out')
  const writes = a.writes.length
  const next = hub.deliver(pub('t', 'next'))
  await turn()
  await turn()
  t.equal(a.writes.length, writes, 'two calls in the last fan-out: the next is held')
  await next
  t.equal(a.writes.length, writes + 1)
})

test('one mode: even a lone publication on a quiet hub waits for the end of its turn', async (t) => {
  const hub = new Hub()
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('t', a)
  const one = hub.deliver(pub('t', 1))
  const batch = hub.deliverAll([pub('t', 2), pub('t', 3)])
  t.type(one, Promise)
  t.type(batch, Promise)
  t.equal(a.writes.length, 0, 'not written during the call')
  t.same(await Promise.all([one, batch]), [1, 2])
  t.equal(a.writes.length, 1, 'one write for the turn')
  t.same(a.events(), ['1', '2', '3'])
})

test('the queue is bounded: past maxQueuedBytes what nobody waits for is shed and counted', async (t) => {
  const shed: Array<{ topic: string, queuedBytes: number }> = []
  const stats = new GatewayStats()
  const hub = new Hub({ stats, writesPerTurn: 1, maxQueuedBytes: 2000, onShed: (publication, queuedBytes) => { shed.push({ topic: publication.topic, queuedBytes }) } })
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('t', a)
  const before = stats.publicationsShed
  const payload = 'x'.repeat(100)
  let most = 0
  for (let i = 0; i < 100; i++) {
    hub.broadcast(pub('t', `${i}${payload}`))
    most = Math.max(most, hub.queuedBytes)
  }
  // Shed past the bound beyond the largest queued publication (168 bytes here).
  t.ok(most <= 2000 + 168, `the queue stayed under its bound and one publication (at most ${most} bytes)`)
  // One somebody waits for is refused at the bound, before anything of it is queued (issue 18).
  const queued = hub.queuedBytes
  t.throws(() => hub.deliver(pub('t', `refused${payload}`)), { code: 'GW_ERR_BROKER_UNAVAILABLE' })
  t.equal(hub.queuedBytes, queued, 'nothing of it was queued')
  const shedCount = stats.publicationsShed - before
  t.ok(shedCount > 50, `shed: ${shedCount}`)
  t.equal(shed.length, shedCount, 'each one reported')
  t.match(shed[0], { topic: 't' })
  while (hub.queuedBytes > 0) await turn()
  const waited = hub.deliver(pub('t', `waited${payload}`))
  t.equal(await waited, 1, 'taken again once the queue drained')
  const got = a.events()
  t.equal(got.length + shedCount, 101, 'every publication was delivered or counted as shed')
  const order = got.slice(0, -1).map((e) => Number.parseInt(e, 10))
  t.same(order, [...order].sort((x, y) => x - y), 'the delivered ones in order')
  t.equal(got.at(-1), `waited${payload}`)
  t.equal(hub.queuedBytes, 0, 'the bytes are given back as the queue drains')
})

test('a publication nobody listens to is answered at once, even while the hub is hot (no merge window, no hold)', async (t) => {
  const hub = new Hub({ holdMs: 200 })
  const a = recorder('a')
  hub.addClient(a)
  hub.subscribe('busy', a)
  t.equal(await hub.deliver(pub('busy', 1)), 1, 'a fan-out: the hub is hot now')
  t.equal(hub.deliver(pub('nobody', 2)), 0, 'no subscriber: 0 at once, not a promise held for holdMs')
  hub.broadcast(pub('nobody', 3))
  t.equal(hub.queuedBytes, 0, 'broadcast nobody listens to: nothing queued')
  t.equal(hub.deliverAll([pub('nobody', 4), pub('nobody', 5)]), 0, 'a batch nobody listens to: 0 at once')
  const mixed = hub.deliverAll([pub('nobody', 6), pub('busy', 7)])
  t.equal(await mixed, 1, 'in a mixed batch only the listened-to event counts')
  t.same(a.events(), ['1', '7'])
})
