// Redis frozen (SIGSTOP) under a steady HTTP publisher, then resumed (SIGCONT): commands written
// to the frozen Redis stay in its socket buffers and run when it resumes, so a request that timed
// out may still be delivered. The gateway must never answer "nothing was delivered" (503) for an
// event that later arrives, must be unready by the time any command times out, and a retry of an
// unconfirmed request with its Idempotency-Key must not reach a subscriber twice.
import { test } from 'tap'
import { Redis } from 'ioredis'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { redisOptions, startRedis, until } from './helpers/redis.js'

const KEY = 'key-one'
const PREFIX = 'freeze:'

interface Answer { n: number, keyed: boolean, status: number, code?: string, retryAfter: string | null, readyDuring?: number }

test('a frozen Redis: 503 only for events never delivered, 504 when unknown, unready before any time-out', { ...redisOptions(), timeout: 90_000 }, async (t) => {
  const redis = await startRedis(t)
  const node = await startApp(t, { ORO_WEBSOCKET_BROKER_DSN: redis.dsn, ORO_WEBSOCKET_REDIS_PREFIX: PREFIX, ORO_WEBSOCKET_PUBLISH_KEYS: KEY }, 'dev', 'info')
  await until(() => node.app.broker.readiness() === 'ok', 'the node connected to Redis')

  // What Redis really delivered: a plain subscriber of the topic's channel, next to the gateway.
  const witness = new Redis({ port: redis.port, host: '127.0.0.1' })
  witness.on('error', () => {})
  t.teardown(() => witness.disconnect())
  const arrived: unknown[] = []
  witness.on('message', (_channel: string, message: string) => { arrived.push(JSON.parse(message.slice(message.indexOf('\n') + 1))) })
  await witness.subscribe(PREFIX + 't')
  const subscriber = await connectWamp(node.wsUrl)
  const backend = await connectWamp(node.wsUrl)
  t.teardown(() => { subscriber.close(); backend.close() })
  subscriber.subscribe('t')
  await subscriber.sync()
  await until(async () => (await redis.subscribers(PREFIX + 't')) === 2, 'the node and the witness subscribed')

  const readyz = async (): Promise<number> => (await fetch(`${node.url}/readyz`)).status
  const post = (n: number, keyed: boolean): Promise<Response> => fetch(`${node.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...(keyed ? { 'idempotency-key': `event-${n}` } : {}) },
    body: JSON.stringify({ topic: 't', data: n })
  })

  // Four publishers, each posting numbered events as fast as they are answered; two use an
  // Idempotency-Key (whose SET in Redis comes first), two do not (their PUBLISH is the first
  // command, so a freeze catches some of them in flight: 504).
  const answers: Answer[] = []
  let next = 0
  const publish = (): (() => Promise<void>) => {
    let running = true
    const publishers = [true, true, false, false].map(async (keyed) => {
      while (running) {
      const n = ++next
      const res = await post(n, keyed)
      const body = await res.json() as { code?: string }
      const answer: Answer = { n, keyed, status: res.status, retryAfter: res.headers.get('retry-after') }
      if (body.code !== undefined) answer.code = body.code
      // The moment a command timed out, Redis had owed an answer for 2 s: readiness must say so.
      if (res.status === 504) answer.readyDuring = await readyz()
      answers.push(answer)
      await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })
    return async () => { running = false; await Promise.all(publishers) }
  }
  const count = (status: number): number => answers.filter((a) => a.status === status).length
  let stop = publish()
  await until(() => count(202) >= 20, '20 events accepted before the freeze')

  redis.pause()
  // A WAMP publication from the backend, which cannot be answered: counted as dropped only when
  // it certainly was not delivered, else as unconfirmed.
  const [dropped, unconfirmed0] = [node.app.stats.publishesDropped, node.app.stats.publishesUnconfirmed]
  backend.publish('t', 'from the backend')
  await until(async () => (await readyz()) === 503, '/readyz to turn 503 while Redis is frozen', 20_000)
  t.match(await (await fetch(`${node.url}/readyz`)).json(), { checks: { broker: /^redis: (not answering|down)/ } }, '/readyz names the broker')
  await until(() => count(504) >= 1 && count(503) >= 5, 'unconfirmed (504) and refused (503) publications', 20_000)
  // Every request in flight is answered while Redis is still frozen (503 at once, 504 on time-out).
  await stop()
  await until(() => node.app.stats.publishesDropped + node.app.stats.publishesUnconfirmed > dropped + unconfirmed0, 'the WAMP publication to be counted', 20_000)
  const backendUnconfirmed = node.app.stats.publishesUnconfirmed > unconfirmed0
  redis.resume()

  await until(async () => (await readyz()) === 200, '/readyz back to 200 once Redis answers', 20_000)
  const acceptedBefore = count(202)
  stop = publish()
  await until(() => count(202) >= acceptedBefore + 20, '20 events accepted after the freeze', 20_000)
  await stop()

  // Every 504 with a key retried with it, as the answer says; then a marker closes the run.
  const unconfirmed = answers.filter((a) => a.status === 504)
  for (const { n } of unconfirmed.filter((a) => a.keyed)) t.equal((await post(n, true)).status, 202, `retry of unconfirmed event ${n} accepted`)
  // A node delivers a publication id once, however many times Redis carries it.
  for (let i = 0; i < 2; i++) await node.app.broker.publish({ topic: 't', payload: '"twice"', id: 'same-id:0' })
  const marker = ++next
  t.equal((await post(marker, false)).status, 202)
  await until(() => arrived.includes(marker), 'the marker to reach the witness', 20_000)
  await subscriber.sync()
  await until(() => subscriber.events('t').includes(marker), 'the marker to reach the WAMP subscriber', 20_000)

  t.same(answers.filter((a) => ![202, 503, 504].includes(a.status)), [], 'every answer is 202, 503 or 504')
  t.ok(answers.filter((a) => a.status === 503).every((a) => a.code === 'GW_ERR_BROKER_UNAVAILABLE' && a.retryAfter !== null), '503s: GW_ERR_BROKER_UNAVAILABLE with Retry-After')
  t.ok(answers.filter((a) => a.status === 504).every((a) => a.code === 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN'), '504s: GW_ERR_PUBLISH_OUTCOME_UNKNOWN')
  t.same(answers.filter((a) => a.status === 504 && a.readyDuring !== 503).map((a) => a.n), [], 'when a command timed out, /readyz already answered 503')

  const seen = new Set(arrived)
  const refused = answers.filter((a) => a.status === 503).map((a) => a.n)
  t.same(refused.filter((n) => seen.has(n)), [], 'no event answered 503 ever arrived')
  t.same(answers.filter((a) => a.status === 202 && !seen.has(a.n)).map((a) => a.n), [], 'every event answered 202 arrived')
  if (seen.has('from the backend')) t.ok(backendUnconfirmed, 'the WAMP publication that arrived was not counted as dropped')
  t.ok(node.logs.some((l) => l.msg === (backendUnconfirmed ? 'publish not confirmed: the broker may or may not have delivered it' : 'publish dropped: the broker did not take it')), 'and logged as such')
  t.equal(arrived.filter((a) => a === 'twice').length, 2, 'Redis carried the same id twice')
  const events = subscriber.events('t')
  t.equal(events.filter((e) => e === 'twice').length, 1, 'the node delivered it once')
  t.equal(new Set(events).size, events.length, 'the WAMP subscriber got no event twice, retries included')
  const lateDeliveries = unconfirmed.filter((a) => seen.has(a.n)).length
  t.comment(`${count(202)} accepted, ${refused.length} refused (503), ${unconfirmed.length} unconfirmed (504), ${lateDeliveries} of them delivered after all when Redis resumed`)
})
