// A SUBSCRIBE Redis refuses on a live connection (here an ACL without the channel) is retried and
// keeps the node unready until Redis takes it; the node's own publications wait for their topic's
// SUBSCRIBE to be confirmed (issue 18).
import { test } from 'tap'
import { connect, createServer, type AddressInfo } from 'node:net'
import { RedisBroker } from '../src/broker/redis-broker.js'
import type { Publication } from '../src/broker/broker.js'
import { redisOptions, startRedis, until } from './helpers/redis.js'

const silent = { info: () => {}, warn: () => {}, error: () => {} }

test('a refused SUBSCRIBE is retried, reflected in readiness, and heard once Redis takes it', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  await redis.client.call('ACL', 'SETUSER', 'gw', 'on', '>gw-pass', '~*', 'resetchannels', '&acl:ok:*', '+@all')
  const errors: string[] = []
  const delivered: Publication[] = []
  const broker = new RedisBroker({
    target: { kind: 'redis', host: '127.0.0.1', port: redis.port, db: 0, tls: false, username: 'gw', password: 'gw-pass' },
    prefix: 'acl:',
    deliver: (publication) => { delivered.push(publication); return 1 },
    log: { ...silent, error: (_obj: object, msg: string) => { errors.push(msg) } },
    settleMs: 0
  })
  t.teardown(() => broker.close())
  await until(() => broker.readiness() === 'ok', 'the broker to be ready')

  broker.subscribe('no:x')
  await until(() => broker.readiness() !== 'ok', 'readiness to report the refused SUBSCRIBE')
  t.match(broker.readiness(), /^redis: SUBSCRIBE refused for 1 topic\(s\) \(NOPERM.*"no:x".*retrying$/)
  t.equal(errors.filter((m) => m.startsWith('broker: Redis refused SUBSCRIBE')).length, 1, 'logged once, at error')
  await t.rejects(broker.publish({ topic: 'ok:y', payload: '1' }), { code: 'GW_ERR_BROKER_UNAVAILABLE' }, 'not ready: publications refused before they are sent')

  await redis.client.call('ACL', 'SETUSER', 'gw', 'allchannels')
  await until(() => broker.readiness() === 'ok', 'the retried SUBSCRIBE to be taken', 15_000)
  t.equal(await redis.subscribers('acl:no:x'), 1, 'subscribed in Redis')
  await redis.client.publish('acl:no:x', '\n"heard"')
  await until(() => delivered.some((p) => p.topic === 'no:x'), 'the event to arrive')
  t.equal(errors.filter((m) => m.startsWith('broker: Redis refused SUBSCRIBE')).length, 1, 'retries are not logged again')
})

/**
 * A TCP proxy to Redis that holds what the gateway's subscriber connection sends for `delayMs`
 * (its CLIENT SETNAME names it): a SUBSCRIBE then reaches Redis well after a PUBLISH sent at the
 * same moment on the publisher connection, as over a slow network path.
 */
async function slowSubscriberProxy (t: { teardown (fn: () => unknown): void }, port: number, delayMs: number): Promise<number> {
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    let slow: boolean | null = null
    client.on('data', (chunk) => {
      slow ??= chunk.includes('oro-ws-subscriber')
      if (slow) setTimeout(() => upstream.write(chunk), delayMs)
      else upstream.write(chunk)
    })
    upstream.pipe(client)
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return (server.address() as AddressInfo).port
}

test('a publication made on this node right after a first local subscribe reaches it', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const proxyPort = await slowSubscriberProxy(t, redis.port, 100)
  const delivered: string[] = []
  const broker = new RedisBroker({
    target: { kind: 'redis', host: '127.0.0.1', port: proxyPort, db: 0, tls: false },
    prefix: 'own:',
    deliver: (publication) => { delivered.push(publication.payload); return 1 },
    log: silent,
    settleMs: 0
  })
  t.teardown(() => broker.close())
  await until(() => broker.readiness() === 'ok', 'the broker to be ready')
  for (let i = 0; i < 5; i++) {
    broker.subscribe(`t${i}`)
    await broker.publish({ topic: `t${i}`, payload: String(i) })
  }
  // A marker published after them all, once Redis has every subscription: once it is here, the
  // five would be too.
  await until(async () => (await redis.channels('own:*')).length === 5, 'the five subscriptions in Redis')
  await broker.publish({ topic: 't4', payload: 'marker' })
  await until(() => delivered.includes('marker'), 'the marker', 10_000)
  t.same(delivered, ['0', '1', '2', '3', '4', 'marker'], 'none was published before its SUBSCRIBE was confirmed (before issue 18 all five were lost)')
})
