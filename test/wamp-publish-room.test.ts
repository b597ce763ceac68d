// A WAMP backend's publication the hub refuses for room (its fan-out queue is over
// ORO_WEBSOCKET_HUB_QUEUE_BYTES) is held, with every later one of the session, in order, reading
// paused, and offered again when the hub says there is room (what arrives meanwhile, the rest of
// the read, is held too), and what waits longer than the room timeout is dropped and told (logged at error by the session).
import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { PAUSE_ROOM, PublishFlow } from '../src/wamp/publish-flow.js'
import { Hub, type HubClient } from '../src/broker/hub.js'
import { MemoryBroker } from '../src/broker/memory-broker.js'

function harness (maxPending = 4, roomWaitMs = 60_000): {
  flow: PublishFlow
  full: { value: boolean }
  taken: string[]
  dropped: Array<[string, string]>
  room: () => void
  state: { paused: number, resumed: number, waiters: number, reasons: number[] }
  offer: (name: string) => void
} {
  const full = { value: false }
  const taken: string[] = []
  const dropped: Array<[string, string]> = []
  const state = { paused: 0, resumed: 0, waiters: 0, reasons: [] as number[] }
  let waiter: (() => void) | null = null
  const flow = new PublishFlow({
    ratePerSecond: 0,
    maxPending,
    roomWaitMs,
    pause: () => { state.paused++ },
    resume: () => { state.resumed++ },
    paused: (reason) => { state.reasons.push(reason) },
    waitRoom: (room) => { state.waiters++; waiter = room }
  })
  return {
    flow,
    full,
    taken,
    dropped,
    state,
    room: () => { const w = waiter; waiter = null; w?.() },
    offer: (name) => {
      flow.offer(() => {
        if (full.value) return false
        taken.push(name)
        return true
      }, (why) => { dropped.push([name, why]) })
    }
  }
}

test('a refused publication and every later one wait in order, reading paused, until there is room', async (t) => {
  const h = harness()
  h.offer('a')
  h.full.value = true
  h.offer('b')
  h.full.value = false
  h.offer('c') // there would be room for it, but b comes first
  t.same(h.taken, ['a'], 'only the one before the refusal was taken')
  t.equal(h.flow.heldForRoom, 2, 'b and c are held')
  t.equal(h.state.paused, 1, 'reading paused')
  t.same(h.state.reasons, [PAUSE_ROOM], 'for room (counted by the session as a pause)')
  t.equal(h.flow.pausedFor, PAUSE_ROOM)
  h.full.value = true
  h.room()
  t.same(h.taken, ['a'], 'still no room: nothing taken')
  t.equal(h.state.waiters, 2, 'waits for the next room again')
  h.full.value = false
  h.room()
  t.same(h.taken, ['a', 'b', 'c'], 'taken in order once there is room')
  t.equal(h.flow.heldForRoom, 0)
  t.equal(h.state.resumed, 1, 'reading resumed')
  t.equal(h.flow.pausedFor, 0)
  t.same(h.dropped, [], 'nothing dropped')
})

test('what arrives while held (the rest of the read) is held too, past maxPending: nothing dropped', async (t) => {
  const h = harness(2)
  h.full.value = true
  for (const name of ['a', 'b', 'c', 'd']) h.offer(name)
  t.equal(h.flow.heldForRoom, 4, 'all four held')
  t.same(h.dropped, [], 'none dropped')
  t.equal(h.flow.pausedFor & PAUSE_ROOM, PAUSE_ROOM, 'reading paused')
  h.full.value = false
  h.room()
  t.same(h.taken, ['a', 'b', 'c', 'd'], 'the held ones go out in order')
})

test('what waits longer than the room timeout is dropped and told; reading resumes', async (t) => {
  const h = harness(4, 50)
  h.full.value = true
  h.offer('a')
  h.offer('b')
  // The timer is unref'd: keep the test alive while it runs.
  const keep = setTimeout(() => {}, 1000)
  await sleep(200)
  clearTimeout(keep)
  t.same(h.dropped.map(([name]) => name), ['a', 'b'], 'both dropped, in order')
  t.match(h.dropped[0]?.[1], /no room in the hub's queue for 50 ms/)
  t.equal(h.flow.heldForRoom, 0)
  t.equal(h.state.resumed, 1, 'reading resumed')
  h.full.value = false
  h.room() // the hub's late signal finds nothing held
  h.offer('c')
  t.same(h.taken, ['c'], 'later publications go through')
})

test('at shutdown, what waits for room is offered to the closed broker at once: refused, not held forever', async (t) => {
  const hub = new Hub({ maxQueuedBytes: 1000, writesPerTurn: 1 })
  for (let i = 0; i < 50; i++) {
    const client: HubClient = { id: `c${i}`, write: () => true }
    hub.addClient(client)
    hub.subscribe('t', client)
  }
  const broker = new MemoryBroker(hub)
  const outcomes: string[] = []
  const flow = new PublishFlow({ ratePerSecond: 0, maxPending: 10, pause: () => {}, resume: () => {}, waitRoom: (room) => { hub.whenRoom(room) } })
  const offer = (payload: string): void => {
    flow.offer((waited) => {
      const refusals = hub.refusals
      const taken = broker.publish({ topic: 't', payload })
      if (hub.refusals !== refusals) {
        taken.catch(() => {})
        return false
      }
      taken.then(() => { outcomes.push(`delivered ${payload.length}`) }, (err: Error) => { outcomes.push(`${waited ? 'waited, then ' : ''}${err.message}`) })
      return true
    }, (why) => { outcomes.push(`dropped: ${why}`) })
  }
  offer('x'.repeat(900))
  offer('y'.repeat(900))
  t.equal(flow.heldForRoom, 1, 'the second waits for room')
  await broker.close()
  hub.wakeRoomWaiters()
  t.equal(flow.heldForRoom, 0, 'nothing held after the broker closed')
  await sleep(50)
  t.ok(outcomes.some((o) => /^waited, then .*shutting down/.test(o)), `refused as waited (the session logs it at error): ${outcomes.join('; ')}`)
})
