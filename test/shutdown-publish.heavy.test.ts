// SIGTERM to a real gateway (dist/cli.js serve) while publishers post as fast as they are
// answered, with POST /publish on the WebSocket listener and on its own listener: every request
// the gateway accepted is answered (never a reset connection), every 202 reached Redis, and the
// broker closes only after the listeners stopped taking requests. The publishers behave as the
// README asks: after a 503 they wait Retry-After seconds.
import { test } from 'tap'
import { Redis } from 'ioredis'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { redisOptions, startRedis, until } from './helpers/redis.js'

const KEY = 'key-one'

type Outcome = { n: number, status: number, code?: string, afterSignal: boolean } | { n: number, error: string, afterSignal: boolean }

/** ECONNREFUSED: the listener was closed, the request never reached the gateway. */
function errorCode (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message
}

for (const layout of ['WebSocket listener', 'separate publish listener'] as const) {
  test(`SIGTERM during a stream of publishes (${layout}): all answered, none reset, every 202 delivered`, { ...redisOptions(), timeout: 60_000 }, async (t) => {
    const redis = await startRedis(t)
    const prefix = 'shutdown:'
    const publishPort = layout === 'separate publish listener' ? await freePort() : null
    const gw = await startGateway({
      args: ['--env=prod'],
      env: {
        ORO_SECRET: 'secret',
        ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
        ORO_WEBSOCKET_BROKER_DSN: redis.dsn,
        ORO_WEBSOCKET_REDIS_PREFIX: prefix,
        ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml',
        ORO_WEBSOCKET_DRAIN_DELAY: '1',
        ...(publishPort !== null ? { ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:${publishPort}` } : {})
      }
    }, t)
    const publishUrl = publishPort !== null ? `http://127.0.0.1:${publishPort}/publish` : `${gw.url}/publish`
    await until(async () => (await fetch(`${gw.url}/readyz`)).status === 200, 'the gateway to be ready (Redis connected)')

    const witness = new Redis({ port: redis.port, host: '127.0.0.1' })
    witness.on('error', () => {})
    t.teardown(() => witness.disconnect())
    const arrived = new Set<unknown>()
    witness.on('message', (_channel: string, message: string) => { arrived.add(JSON.parse(message.slice(message.indexOf('\n') + 1))) })
    await witness.subscribe(prefix + 't')

    const outcomes: Outcome[] = []
    let signalled = false
    let next = 0
    const publishers = Array.from({ length: 8 }, async () => {
      for (;;) {
        const n = ++next
        const afterSignal = signalled
        try {
          const res = await fetch(publishUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
            body: JSON.stringify({ topic: 't', data: n })
          })
          const body = await res.json() as { code?: string }
          outcomes.push({ n, status: res.status, ...(body.code !== undefined ? { code: body.code } : {}), afterSignal })
          if (res.status === 503) await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000))
        } catch (err) {
          outcomes.push({ n, error: errorCode(err), afterSignal })
          if (errorCode(err) === 'ECONNREFUSED') return // the listener is closed: done
        }
      }
    })
    await until(() => outcomes.filter((o) => 'status' in o && o.status === 202).length >= 50, '50 events accepted before SIGTERM')
    signalled = true
    const exit = await gw.stop('SIGTERM')
    await Promise.all(publishers)
    t.same(exit, { code: 0, signal: null }, 'the gateway exited 0')

    const failures = outcomes.filter((o) => 'error' in o && o.error !== 'ECONNREFUSED')
    t.same(failures, [], 'no request was reset or left unanswered; only new connections were refused once the listener closed')
    const answered = outcomes.filter((o): o is Extract<Outcome, { status: number }> => 'status' in o)
    t.same(answered.filter((o) => o.status !== 202 && !(o.status === 503 && o.code === 'GW_ERR_SHUTTING_DOWN')), [],
      'every answer is 202, or 503 GW_ERR_SHUTTING_DOWN once closing (never a broker closed under a listener)')
    const accepted = answered.filter((o) => o.status === 202)
    t.ok(accepted.some((o) => o.afterSignal), 'publishes sent after SIGTERM were still accepted during the drain')
    await until(() => accepted.every((o) => arrived.has(o.n)), 'every 202 to reach Redis subscribers', 10_000).catch(() => {})
    t.same(accepted.filter((o) => !arrived.has(o.n)).map((o) => o.n), [], 'every event answered 202 was published in Redis')
    t.comment(`${accepted.length} answered 202 (${accepted.filter((o) => o.afterSignal).length} after SIGTERM), ${answered.length - accepted.length} answered 503, ${outcomes.length - answered.length} refused after the listener closed`)
  })
}

test('prod without ORO_WEBSOCKET_PUBLISH_KEYS starts, warns, and answers POST /publish 404 GW_ERR_PUBLISH_DISABLED', async (t) => {
  const gw = await startGateway({ args: ['--env=prod'], env: { ORO_SECRET: 'secret' } }, t)
  const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: '{"topic":"oro/maintenance","data":{"isOn":true,"userId":null}}' })
  t.equal(res.status, 404)
  t.match(await res.json(), { code: 'GW_ERR_PUBLISH_DISABLED', message: /ORO_WEBSOCKET_PUBLISH_KEYS is not set/ })
  t.ok(gw.logLines().some((l) => l.level === 'warn' && /POST \/publish is disabled/.test(String(l.msg))), 'said at start, at the default prod level')
  t.same(await gw.stop(), { code: 0, signal: null })
})
