import { test } from 'tap'
import { createMemoryIdempotencyStore, type StoredAnswer } from '../src/publish/idempotency.js'
import { ExpiringMap } from '../src/publish/expiring-map.js'

const ok = (body: unknown): (() => Promise<StoredAnswer>) => async () => ({ status: 202, body })

test('the same key with another body is refused with 422; with the same body it replays', async (t) => {
  const store = createMemoryIdempotencyStore()
  t.same(await store.run('0', 'k', 'fp-a', ok('first')), { answer: { status: 202, body: 'first' }, replay: false })
  t.same(await store.run('0', 'k', 'fp-a', ok('second')), { answer: { status: 202, body: 'first' }, replay: true })
  await t.rejects(store.run('0', 'k', 'fp-b', ok('other')), { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED', statusCode: 422, message: /"k" was used .* for another request body/ })
  t.same((await store.run('1', 'k', 'fp-b', ok('holder 1'))).replay, false, 'another key holder has its own keys')
  // While the first is still being handled, a different body is refused at once, not made to wait.
  let release: (answer: StoredAnswer) => void = () => {}
  const pending = store.run('0', 'slow', 'fp-a', () => new Promise((resolve) => { release = resolve }))
  await t.rejects(store.run('0', 'slow', 'fp-b', ok('x')), { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED' })
  release({ status: 202, body: 'slow' })
  t.same((await pending).answer.body, 'slow')
})

test('a full store stays correct: the oldest entries go first, the window still holds', async (t) => {
  let clock = 0
  const store = createMemoryIdempotencyStore(1000, 3, () => clock)
  for (const key of ['a', 'b', 'c', 'd']) await store.run('0', key, 'f', ok(key))
  t.same((await store.run('0', 'a', 'f', ok('a again'))).replay, false, 'the oldest was evicted past the cap')
  t.same((await store.run('0', 'd', 'f', ok('d again'))).replay, true, 'a recent one is kept')
  // A failed request frees its key at once; its queue slot is skipped later.
  await store.run('0', 'e', 'f', async () => ({ status: 400, body: 'bad' }))
  t.same((await store.run('0', 'e', 'f', ok('e'))).replay, false, 'a failed request may be retried')
  clock = 2000
  t.same((await store.run('0', 'd', 'f', ok('d late'))).replay, false, 'past the window the key is new again')
})

test('ExpiringMap: O(1) eviction however many entries were deleted before', async (t) => {
  let clock = 0
  const map = new ExpiringMap<number>(1000, 5, () => clock)
  for (let i = 0; i < 5; i++) map.set(`k${i}`, i)
  map.delete('k1')
  map.set('k5', 5)
  map.set('k6', 6)
  t.equal(map.size, 5)
  t.equal(map.get('k0'), undefined, 'the oldest live entry went when the cap was passed')
  t.equal(map.get('k2'), 2)
  map.set('k2', 22)
  map.set('k7', 7)
  t.equal(map.get('k2'), 22, 'a replaced entry counts from its new time (its old slot is skipped)')
  t.equal(map.get('k3'), undefined)
  clock = 1001
  map.set('fresh', 1)
  t.equal(map.size, 1, 'expired entries are dropped on the next set')
  // Many deletions then sets: stays bounded and correct.
  const big = new ExpiringMap<number>(60_000, 1000, () => clock)
  for (let i = 0; i < 50_000; i++) {
    big.set(`x${i}`, i)
    if (i % 2 === 0) big.delete(`x${i}`)
  }
  t.equal(big.size, 1000)
  t.equal(big.get('x49999'), 49999)
  t.equal(big.get('x47999'), undefined)
})
