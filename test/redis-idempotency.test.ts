import { test } from 'tap'
import { createRedisIdempotencyStore } from '../src/publish/redis-idempotency.js'
import { redisOptions, startRedis, until } from './helpers/redis.js'

test('Redis idempotency store: another body is 422, a key held too long is 504 (not "nothing delivered")', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const store = createRedisIdempotencyStore(redis.client, { prefix: 'idem-test:', pendingMs: 200, pollMs: 10 })
  const ok = async (): Promise<{ status: number, body: unknown }> => ({ status: 202, body: { published: 1 } })
  t.same(await store.run('0', 'a', 'fp-1', ok), { answer: { status: 202, body: { published: 1 } }, replay: false })
  t.same((await store.run('0', 'a', 'fp-1', ok)).replay, true)
  await t.rejects(store.run('0', 'a', 'fp-2', ok), { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED', statusCode: 422 })

  // Another node holds the key (its claim) and never answers within the claim's life.
  await redis.client.set('idem-test:idem:0:b', 'pending:fp-1', 'PX', 60_000)
  await t.rejects(store.run('0', 'b', 'fp-2', ok), { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED' }, 'a different body is refused at once')
  let handled = false
  await t.rejects(store.run('0', 'b', 'fp-1', async () => { handled = true; return await ok() }),
    { code: 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN', statusCode: 504, message: /still being handled on another node/ })
  t.equal(handled, false, 'not delivered by this node')
})

test('a retry after a 503 during a Redis freeze does not wait for the abandoned claim to expire', redisOptions(), async (t) => {
  const redis = await startRedis(t)
  const { Redis } = await import('ioredis')
  const client = new Redis({ port: redis.port, host: '127.0.0.1', commandTimeout: 300, maxRetriesPerRequest: 0, enableOfflineQueue: false })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  await new Promise((resolve) => client.once('ready', resolve))
  // A claim lasting a minute: only taking it over explains a quick answer.
  const store = createRedisIdempotencyStore(client, { prefix: 'freeze:', pendingMs: 60_000 })
  let deliveries = 0
  const deliver = async (): Promise<{ status: number, body: unknown }> => { deliveries++; return { status: 202, body: { published: 1 } } }

  redis.pause() // the claim's SET waits in Redis' socket buffer
  await t.rejects(store.run('0', 'k', 'fp-1', deliver), { code: 'GW_ERR_BROKER_UNAVAILABLE', statusCode: 503 })
  redis.resume() // ... and runs now: a claim nobody handles
  await until(async () => (await redis.client.get('freeze:idem:0:k'))?.startsWith('pending:fp-1') === true, 'the late claim to be in Redis')
  const retried = await Promise.race([
    store.run('0', 'k', 'fp-1', deliver),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref())
  ])
  t.same(retried, { answer: { status: 202, body: { published: 1 } }, replay: false }, 'the retry took the key over and delivered')
  t.equal(deliveries, 1, 'delivered once')
  t.same((await store.run('0', 'k', 'fp-1', deliver)).replay, true, 'and is remembered')
})
