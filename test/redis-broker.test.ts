import { test, type Test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { redisOptions, startRedis, until, type RedisServer } from './helpers/redis.js'

const KEY = 'key-one'

type Node = TestApp

let prefixCounter = 0

async function startNodes (t: Test, redis: RedisServer, count: number, env: Record<string, string> = {}): Promise<{ nodes: Node[], prefix: string }> {
  const prefix = env.ORO_WEBSOCKET_REDIS_PREFIX ?? `test${++prefixCounter}:`
  const nodes: Node[] = []
  for (let i = 0; i < count; i++) {
    nodes.push(await startApp(t, { ORO_WEBSOCKET_BROKER_DSN: redis.dsn, ORO_WEBSOCKET_REDIS_PREFIX: prefix, ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ...env }, 'dev', 'info'))
  }
  await until(() => nodes.every((n) => n.app.broker.readiness() === 'ok'), 'every node to be connected to Redis')
  return { nodes, prefix }
}

async function post (node: Node, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, headers: Headers, json: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body)
  })
  return { status: res.status, headers: res.headers, json: await res.json() as Record<string, unknown> }
}

async function clients (t: Test, urls: string[]): Promise<WampClient[]> {
  const list = await Promise.all(urls.map((url) => connectWamp(url)))
  t.teardown(() => { for (const c of list) c.close() })
  return list
}

/** Subscribes and waits until every node with a subscriber is subscribed in Redis. */
async function subscribeAll (redis: RedisServer, channel: string, topic: string, subscribers: WampClient[], nodes: number): Promise<void> {
  for (const c of subscribers) c.subscribe(topic)
  await Promise.all(subscribers.map((c) => c.sync()))
  await until(async () => (await redis.subscribers(channel)) === nodes, `${nodes} nodes subscribed to ${channel}`)
}

test('three nodes: every subscriber gets every event once, in order per publisher', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const { nodes, prefix } = await startNodes(t, redis, 3)
  // Two subscribers on each node.
  const subscribers = await clients(t, nodes.flatMap((n) => [n.wsUrl, n.wsUrl]))
  await subscribeAll(redis, `${prefix}t`, 't', subscribers, 3)
  const [wampPublisher] = await clients(t, [(nodes[1] as Node).wsUrl])

  const N = 100
  const http = (async () => {
    for (let i = 0; i < N; i++) {
      const res = await post(nodes[0] as Node, { topic: 't', data: [{ via: 'http', n: i }] })
      if (res.status !== 202) throw new Error(`POST /publish answered ${res.status}`)
      if (i === 0) t.same(res.json, { published: 1 }, 'no recipients count with Redis')
    }
  })()
  for (let i = 0; i < N; i++) (wampPublisher as WampClient).publish('t', [{ via: 'wamp', n: i }])
  await http
  // A batch on the third node: array order kept.
  t.equal((await post(nodes[2] as Node, [1, 2, 3].map((n) => ({ topic: 't', data: [{ via: 'batch', n }] })))).status, 202)

  for (const [i, sub] of subscribers.entries()) {
    const events = await sub.waitForEvents(2 * N + 3, 't') as Array<Array<{ via: string, n: number }>>
    const by = (via: string): number[] => events.map((e) => e[0] as { via: string, n: number }).filter((e) => e.via === via).map((e) => e.n)
    const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, k) => k + from)
    t.same(by('http'), range(N), `subscriber ${i} (node ${Math.floor(i / 2)}): every HTTP event once, in order`)
    t.same(by('wamp'), range(N), `subscriber ${i}: every WAMP event once, in order`)
    t.same(by('batch'), [1, 2, 3], `subscriber ${i}: the batch in array order`)
    await sub.sync()
    t.equal(sub.events('t').length, 2 * N + 3, `subscriber ${i}: nothing twice`)
  }
})

test('exclude and eligible take session ids from any node', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const { nodes, prefix } = await startNodes(t, redis, 3)
  const [a, b, c] = await clients(t, nodes.map((n) => n.wsUrl)) as [WampClient, WampClient, WampClient]
  await subscribeAll(redis, `${prefix}t`, 't', [a, b, c], 3)

  t.equal((await post(nodes[0] as Node, [
    { topic: 't', data: 'not-b', exclude: [b.sessionId] },
    { topic: 't', data: 'only-c', eligible: [c.sessionId, a.sessionId], exclude: [a.sessionId] },
    { topic: 't', data: 'only-b', eligible: [b.sessionId] }
  ])).status, 202)
  // WAMP PUBLISH with excludeMe from a subscriber on node 1, then with exclude and eligible lists.
  b.publish('t', 'not-me', true)
  b.publish('t', 'eligible-a', [], [a.sessionId])
  b.publish('t', 'end')
  t.same(await a.waitForEvents(4, 't'), ['not-b', 'not-me', 'eligible-a', 'end'])
  t.same(await b.waitForEvents(2, 't'), ['only-b', 'end'])
  t.same(await c.waitForEvents(4, 't'), ['not-b', 'only-c', 'not-me', 'end'])
})

test('Idempotency-Key holds across nodes', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const { nodes, prefix } = await startNodes(t, redis, 3)
  const [sub] = await clients(t, [(nodes[2] as Node).wsUrl]) as [WampClient]
  await subscribeAll(redis, `${prefix}t`, 't', [sub], 1)

  const first = await post(nodes[0] as Node, { topic: 't', data: 'once' }, { 'idempotency-key': 'k-1' })
  t.equal(first.status, 202)
  t.equal(first.headers.get('idempotent-replayed'), null)
  for (const node of nodes.slice(1)) {
    const again = await post(node, { topic: 't', data: 'once' }, { 'idempotency-key': 'k-1' })
    t.equal(again.status, 202)
    t.same(again.json, first.json)
    t.equal(again.headers.get('idempotent-replayed'), 'true', 'another node replays the first answer')
  }
  // The same key sent to all three nodes at once: delivered once.
  const concurrent = await Promise.all([...nodes, ...nodes].map((node) => post(node, { topic: 't', data: 'concurrent' }, { 'idempotency-key': 'k-2' })))
  t.same(concurrent.map((r) => r.status), [202, 202, 202, 202, 202, 202])
  t.equal(concurrent.filter((r) => r.headers.get('idempotent-replayed') === null).length, 1, 'one request did the work')
  // A failed request (validation) may be retried with the same key on another node.
  t.equal((await post(nodes[0] as Node, { topic: 't' }, { 'idempotency-key': 'k-3' })).status, 400)
  t.equal((await post(nodes[1] as Node, { topic: 't', data: 'fixed' }, { 'idempotency-key': 'k-3' })).status, 202)
  t.match(await redis.client.get(`${prefix}idem:0:k-1`), /"status":202/, 'the answer lives in Redis under the prefix')
  t.ok(await redis.client.pttl(`${prefix}idem:0:k-1`) > 4 * 60_000, 'for the 5-minute window')
  // The same key with another body, on another node: refused, not replayed, not delivered.
  t.match(await post(nodes[2] as Node, { topic: 't', data: 'not once' }, { 'idempotency-key': 'k-1' }), { status: 422, json: { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED' } })

  t.equal((await post(nodes[0] as Node, { topic: 't', data: 'end' })).status, 202)
  t.same(await sub.waitForEvents(4, 't'), ['once', 'concurrent', 'fixed', 'end'])
})

test('a node is subscribed in Redis exactly while it has local subscribers (PUBSUB CHANNELS)', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const { nodes, prefix } = await startNodes(t, redis, 2)
  const pattern = `${prefix}*`
  t.same(await redis.channels(pattern), [], 'no subscribers, no channels: no firehose')
  const [a1, a2, b1] = await clients(t, [(nodes[0] as Node).wsUrl, (nodes[0] as Node).wsUrl, (nodes[1] as Node).wsUrl]) as [WampClient, WampClient, WampClient]
  a1.subscribe('x'); a2.subscribe('x'); a2.subscribe('y')
  await Promise.all([a1.sync(), a2.sync()])
  await until(async () => (await redis.channels(pattern)).length === 2, 'channels x and y')
  t.same(await redis.channels(pattern), [`${prefix}x`, `${prefix}y`])
  t.equal(await redis.subscribers(`${prefix}x`), 1, 'two local subscribers: one Redis subscription')
  b1.subscribe('x')
  await until(async () => (await redis.subscribers(`${prefix}x`)) === 2, 'node 1 on x')
  a1.unsubscribe('x')
  await a1.sync()
  t.equal(await redis.subscribers(`${prefix}x`), 2, 'node 0 still has a subscriber of x')
  a2.close()
  await until(async () => (await redis.channels(pattern)).join() === `${prefix}x`, 'node 0 to leave x and y when its last subscriber goes')
  t.equal(await redis.subscribers(`${prefix}x`), 1)
  b1.unsubscribe('x')
  await until(async () => (await redis.channels(pattern)).length === 0, 'no channels left')
  t.pass('every channel left with its last local subscriber')
})

test('gateways with different prefixes share a Redis without hearing each other', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const one = await startNodes(t, redis, 1, { ORO_WEBSOCKET_REDIS_PREFIX: 'shop1:' })
  const two = await startNodes(t, redis, 1, { ORO_WEBSOCKET_REDIS_PREFIX: 'shop2:' })
  const [s1, s2] = await clients(t, [(one.nodes[0] as Node).wsUrl, (two.nodes[0] as Node).wsUrl]) as [WampClient, WampClient]
  await subscribeAll(redis, 'shop1:t', 't', [s1], 1)
  await subscribeAll(redis, 'shop2:t', 't', [s2], 1)
  t.equal((await post(one.nodes[0] as Node, { topic: 't', data: 'for shop 1' })).status, 202)
  t.equal((await post(two.nodes[0] as Node, { topic: 't', data: 'for shop 2' })).status, 202)
  t.same(await s1.waitForEvents(1, 't'), ['for shop 1'])
  t.same(await s2.waitForEvents(1, 't'), ['for shop 2'])
  await Promise.all([s1.sync(), s2.sync()])
  t.equal(s1.events().length + s2.events().length, 2)
})
