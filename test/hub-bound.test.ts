// Publications somebody waits for (POST /publish, WAMP to the memory broker) are bounded by the
// hub's queue bound too: refused with 503 before anything is queued, not queued past it (issue 18).
import { test } from 'tap'
import { Hub, type HubClient } from '../src/broker/hub.js'
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
  const answers: Array<{ status: number, retryAfter: string | null, json: { code?: string } }> = []
  for (let round = 0; round < 50 && !answers.some((a) => a.status === 503); round++) {
    const occupying = gw.app.hub.deliver({ topic: 'big', payload: JSON.stringify('y'.repeat(100 * 1024)) })
    answers.push(...await Promise.all(Array.from({ length: 20 }, async () => {
      const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body })
      return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() as { code?: string } }
    })))
    await occupying
  }
  const refused = answers.filter((a) => a.status === 503)
  t.ok(refused.length > 0, `${refused.length} of ${answers.length} refused`)
  t.ok(refused.every((a) => a.json.code === 'GW_ERR_BROKER_UNAVAILABLE' && a.retryAfter !== null), '503 GW_ERR_BROKER_UNAVAILABLE with Retry-After')
  t.ok(answers.every((a) => a.status === 202 || a.status === 503), 'the others were delivered')
})
