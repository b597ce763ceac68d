import { test } from 'tap'
import { Hub, type HubClient } from '../src/broker/hub.js'
import { RedisBroker } from '../src/broker/redis-broker.js'
import { redisOptions, startFreezableProxy, startRedis, until } from './helpers/redis.js'

// A hub client that keeps the frames it is given (our own interface, written to by the real hub).
function collector (id: string): HubClient & { events: string[] } {
  const events: string[] = []
  return { id, events, write (frame: Buffer) { events.push(frame.subarray(2).toString()); return true } }
}

test('a silently broken Redis connection is noticed by the heartbeat and replaced', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const proxy = await startFreezableProxy(redis.port)
  t.teardown(() => proxy.close())
  const logs: string[] = []
  const log = { info: (_o: object, m: string) => { logs.push(m) }, warn: (_o: object, m: string) => { logs.push(m) }, error: (_o: object, m: string) => { logs.push(m) } }
  const hub = new Hub()
  const broker = new RedisBroker({
    target: { kind: 'redis', host: '127.0.0.1', port: proxy.port, db: 0, tls: false },
    prefix: 'hb:', deliver: (publication) => hub.broadcast(publication), log,
    heartbeatMs: 200, commandTimeoutMs: 300, settleMs: 0
  })
  hub.setInterest({ first: (topic) => broker.subscribe(topic), last: (topic) => broker.unsubscribe(topic) })
  const publisher = new RedisBroker({ target: { kind: 'redis', host: '127.0.0.1', port: redis.port, db: 0, tls: false }, prefix: 'hb:', deliver: () => 0, log, settleMs: 0 })
  t.teardown(async () => { await broker.close(); await publisher.close() })
  const client = collector('c1')
  hub.addClient(client)
  hub.subscribe('t', client)
  await until(() => broker.readiness() === 'ok' && publisher.readiness() === 'ok', 'both brokers ready')
  await until(async () => { await publisher.publish({ topic: 't', payload: '"probe"' }); return client.events.length > 0 }, 'the subscription to work')

  proxy.freeze()
  await until(() => broker.readiness() !== 'ok', 'the frozen connection to be noticed', 5000)
  t.ok(logs.includes('broker: Redis did not answer a PING; reconnecting'), 'logged')
  proxy.thaw()
  await until(() => broker.readiness() === 'ok', 'the broker to be back', 10_000)
  const before = client.events.length
  await until(async () => { await publisher.publish({ topic: 't', payload: '"after"' }); return client.events.length > before }, 'delivery to resume', 10_000)
  t.match(client.events.at(-1), /"after"/, 'resubscribed on a new connection, delivering again')
})
