import { test } from 'tap'
import { TokenBucket } from '../src/token-bucket.js'

test('starts full, refills at its rate up to its capacity', async (t) => {
  const b = new TokenBucket(2, 1 / 1000, 0) // 2 tokens, one a second
  t.ok(b.tryTake(0))
  t.ok(b.tryTake(0))
  t.notOk(b.tryTake(0), 'empty')
  t.equal(b.msUntilOne(), 1000)
  t.notOk(b.tryTake(999))
  t.ok(b.tryTake(1000), 'one token a second later')
  t.equal(b.level(60_000), 2, 'never above capacity')
})

test('spend goes below zero, not below its floor; a start level can be given', async (t) => {
  const b = new TokenBucket(10, 1, 0, 3)
  t.equal(b.level(0), 3)
  b.spend(5, 0)
  t.equal(b.level(0), -2)
  b.spend(100, 0, -10)
  t.equal(b.level(0), -10)
  t.equal(b.level(11), 1, 'refilled from the floor')
})
