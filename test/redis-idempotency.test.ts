import { test } from 'tap'
import { createRedisIdempotencyStore } from '../src/publish/redis-idempotency.js'
import { redisOptions, startRedis } from './helpers/redis.js'

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
