// Publications somebody waits for (POST /publish, WAMP to the memory broker) are bounded by the
// hub's queue bound too: refused with 503 before anything is queued, not queued past it (issue 18).
import { test } from 'tap'
import { Hub, isQueueFull, type HubClient } from '../src/broker/hub.js'
import { MemoryBroker } from '../src/broker/memory-broker.js'
import { startApp } from './helpers/app.js'

function clients (hub: Hub, topic: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const client: HubClient = { id: `c${i}`, write: () => true }
    hub.addClient(client)
    hub.subscribe(topic, client)
  }
}

test('deliver and deliverAll refuse past the bound, all or nothing, and never queue past it', async (t) => {
  const hub = new Hub({ writesPerTurn: 1, maxQueuedBytes: 10_000 })
  clients(hub, 't', 3)
  const payload = JSON.stringify('x'.repeat(4000))
  const first = hub.deliver({ topic: 't', payload })
  const second = hub.deliver({ topic: 't', payload })
  t.throws(() => hub.deliver({ topic: 't', payload }), { code: 'GW_ERR_BROKER_UNAVAILABLE', statusCode: 503, message: /ORO_WEBSOCKET_HUB_QUEUE_BYTES \(10000\)/ })
  t.throws(() => hub.deliverAll([{ topic: 't', payload: '1' }, { topic: 't', payload }]), { code: 'GW_ERR_BROKER_UNAVAILABLE' }, 'a batch that does not fit is refused whole')
  t.ok(hub.queuedBytes <= 10_000, `queued ${hub.queuedBytes} bytes`)
  t.same(await Promise.all([first, second]), [3, 3], 'what was accepted is delivered')
  t.equal(await hub.deliver({ topic: 't', payload: JSON.stringify('y'.repeat(50_000)) }), 3, 'an empty queue takes one publication of any size')
})

test('concurrent POST /publish bodies get 503 when the node\'s fan-outs are behind, and the queue stays bounded', async (t) => {
  const gw = await startApp(t, { ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_HUB_QUEUE_BYTES: String(64 * 1024) })
  // 100,000 subscribers: each event takes about 13 turns of the event loop to write out (8,192
  // writes a turn). Each round first queues one such event itself, then sends 20 bodies at once:
  // those parsed while it is still being written find the queue full. Whether that happens in a
  // given round depends on the machine's speed (on Node 24 under load, once, none did), so rounds
  // repeat until one is refused; every answer of every round must be 202 or that 503.
  clients(gw.app.hub, 'big', 100_000)
  const body = JSON.stringify({ topic: 'big', data: 'x'.repeat(100 * 1024) })
  const answers: Array<{ status: number, retryAfter: string | null, json: { code?: string, message?: string } }> = []
  for (let round = 0; round < 50 && !answers.some((a) => a.status === 503); round++) {
    const occupying = gw.app.hub.deliver({ topic: 'big', payload: JSON.stringify('y'.repeat(100 * 1024)) })
    answers.push(...await Promise.all(Array.from({ length: 20 }, async () => {
      const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body })
      return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() as { code?: string, message?: string } }
    })))
    await occupying
  }
  const refused = answers.filter((a) => a.status === 503)
  t.ok(refused.length > 0, `${refused.length} of ${answers.length} refused`)
  t.ok(refused.every((a) => a.json.code === 'GW_ERR_BROKER_UNAVAILABLE' && a.retryAfter !== null), '503 GW_ERR_BROKER_UNAVAILABLE with Retry-After')
  t.ok(refused.every((a) => /ORO_WEBSOCKET_HUB_QUEUE_BYTES/.test(a.json.message ?? '') && /retry later/.test(a.json.message ?? '')),
    `its message names the setting and says to retry (${refused[0]?.json.message ?? ''})`)
  t.ok(answers.every((a) => a.status === 202 || a.status === 503), 'the others were delivered')
})

test('a refusal for room is marked and counted; whenRoom fires within the fan-out that made room, so what it brings is written in the same turn', async (t) => {
  const hub = new Hub({ maxQueuedBytes: 10_000 })
  const written: string[] = []
  const client: HubClient = { id: 'c', write: (frame) => { written.push(frame.toString().slice(-3, -2)); return true } }
  hub.addClient(client)
  hub.subscribe('t', client)
  const payload = (tag: string): string => JSON.stringify('x'.repeat(6000) + tag)
  const first = hub.deliver({ topic: 't', payload: payload('a') })
  const before = hub.refusals
  let err: unknown = null
  try { void hub.deliver({ topic: 't', payload: payload('b') }) } catch (e) { err = e }
  t.ok(isQueueFull(err), 'the refusal is marked as for room')
  t.equal(hub.refusals, before + 1, 'and counted, synchronously')
  let retried: Promise<number> | null = null
  hub.whenRoom(() => { retried = hub.deliver({ topic: 't', payload: payload('b') }) as Promise<number> })
  t.equal(await first, 1, 'the first is written')
  t.not(retried, null, 'the waiter was told within that fan-out')
  t.equal(await (retried as unknown as Promise<number>), 1, 'and its publication taken and written')
  t.same(written, ['a', 'b'], 'in order')

  const broker = new MemoryBroker(hub)
  await broker.close()
  const outage = await broker.publish({ topic: 't', payload: '1' }).catch((e: unknown) => e)
  t.equal((outage as { code?: string }).code, 'GW_ERR_BROKER_UNAVAILABLE', 'a closed broker refuses')
  t.notOk(isQueueFull(outage), 'and that is not a refusal for room')
})
