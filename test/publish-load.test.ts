import { test } from 'tap'
import { Agent, request } from 'node:http'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

const PUBLISHES = 10_000
const CONCURRENCY = 64

test(`${PUBLISHES} publishes from ${CONCURRENCY} concurrent clients: none lost, none duplicated`, async (t) => {
  const gw = await startApp(t, { ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'dev', 'warn')
  const subscriber = await connectWamp(gw.wsUrl)
  t.teardown(() => subscriber.close())
  subscriber.subscribe('load')
  await subscriber.sync()

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  t.teardown(() => agent.destroy())
  const post = (n: number): Promise<number> => new Promise((resolve, reject) => {
    const body = JSON.stringify({ topic: 'load', data: { n } })
    const req = request(`${gw.url}/publish`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer k', 'content-length': Buffer.byteLength(body) }
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', reject)
    req.end(body)
  })
  let next = 0
  const statuses = new Map<number, number>()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PUBLISHES) {
      const status = await post(next++)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
  }))
  t.same([...statuses], [[202, PUBLISHES]], 'every publish answered 202')
  const events = await subscriber.waitForEvents(PUBLISHES, 'load', 60_000) as Array<{ n: number }>
  await subscriber.sync()
  const seen = new Set(events.map((e) => e.n))
  t.equal(events.length, PUBLISHES, 'no duplicates')
  t.equal(seen.size, PUBLISHES, 'none lost')
})
