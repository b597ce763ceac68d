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

test('bounded by time and bytes: a full store refuses new keys with a clear error, never forgets one inside the window', async (t) => {
  let clock = 0
  // Room for three entries of this size (400 + 2 * (3 + 1) bytes each).
  const store = createMemoryIdempotencyStore(1000, 3 * 408, () => clock)
  for (const key of ['a', 'b', 'c']) await store.run('0', key, 'f', ok(key))
  let handled = false
  const full = await store.run('0', 'd', 'f', async () => { handled = true; return await ok('d')() }).then(() => undefined, (e: unknown) => e)
  t.match(full, { code: 'GW_ERR_IDEMPOTENCY_STORE_FULL', statusCode: 503, retryAfterSeconds: 1, message: /remembers 3 of them.*nothing was delivered, retry after 1 s/ })
  t.equal(handled, false, 'refused before anything was delivered')
  t.same((await store.run('0', 'a', 'f', ok('a again'))).replay, true, 'the oldest is still remembered (before issue 18 it was evicted)')
  clock = 500
  // A failed request frees its key at once.
  await store.run('0', 'a', 'g', ok('x')).catch(() => {})
  clock = 1001
  t.same((await store.run('0', 'd', 'f', ok('d'))).replay, false, 'once the window of the old ones ended, new keys fit again')
  t.same((await store.run('0', 'a', 'f', ok('a late'))).replay, false, 'past the window the key is new again')
})

test('a key being handled is never evicted, however many keys follow', async (t) => {
  const store = createMemoryIdempotencyStore(60_000, 2 * 408)
  let release: (answer: StoredAnswer) => void = () => {}
  let runs = 0
  const first = store.run('0', 'p', 'f', () => { runs++; return new Promise((resolve) => { release = resolve }) })
  await store.run('0', 'q', 'f', ok('q'))
  await t.rejects(store.run('0', 'r', 'f', ok('r')), { code: 'GW_ERR_IDEMPOTENCY_STORE_FULL' })
  const retry = store.run('0', 'p', 'f', () => { runs++; return ok('again')() })
  release({ status: 202, body: 'p' })
  t.same((await first).answer.body, 'p')
  t.same(await retry, { answer: { status: 202, body: 'p' }, replay: true }, 'the retry waited for the first answer')
  t.equal(runs, 1, 'delivered once')
})

test('ExpiringMap: bounded in bytes, O(1) eviction however many entries were deleted before', async (t) => {
  let clock = 0
  const map = new ExpiringMap<number>(1000, 50, () => clock)
  for (let i = 0; i < 5; i++) t.ok(map.set(`k${i}`, i, 10))
  t.equal(map.set('k5', 5, 10), false, 'full: refused, nothing evicted')
  t.equal(map.get('k0'), 0)
  map.delete('k1')
  t.ok(map.set('k5', 5, 10), 'a deleted entry gave its bytes back')
  t.equal(map.bytes, 50)
  t.ok(map.set('k2', 22, 10), 'replacing an entry reuses its bytes')
  t.equal(map.get('k2'), 22)
  clock = 500
  t.equal(map.oldestExpiresInMs(), 500, 'the oldest expires in 500 ms')
  clock = 1001
  t.ok(map.fits(50), 'expired entries are dropped on the next check')
  t.equal(map.size, 0)
  // Many deletions then sets: stays bounded and correct.
  const big = new ExpiringMap<number>(60_000, 1000, () => clock)
  for (let i = 0; i < 50_000; i++) {
    big.set(`x${i}`, i, 1)
    if (i % 2 === 0) big.delete(`x${i}`)
  }
  t.equal(big.size, 1000)
  t.equal(big.get('x1999'), 1999, 'the first ones are kept')
  t.equal(big.get('x49999'), undefined, 'later ones were refused')
})

test('the memory estimate of a remembered key is close to its real heap cost', async (t) => {
  const { setFlagsFromString } = await import('node:v8')
  const { runInNewContext } = await import('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const store = createMemoryIdempotencyStore(60_000, 1e12)
  const N = 20_000
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < N; i++) await store.run('0', `order-${i}-${'k'.repeat(36)}`, `fingerprint-${i}-${'f'.repeat(30)}`, ok({ published: 1, recipients: 3 }))
  gc()
  const perKey = (process.memoryUsage().heapUsed - before) / N
  t.equal((await store.run('0', 'order-1-' + 'k'.repeat(36), `fingerprint-1-${'f'.repeat(30)}`, ok(0))).replay, true, 'still held')
  const estimate = 400 + 2 * (2 + 46 + 44)
  t.ok(perKey < estimate * 2, `${perKey.toFixed(0)} bytes a key in the heap, estimated ${estimate} (before issue 18: ~2,300)`)
})
