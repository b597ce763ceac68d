import { test } from 'tap'
import { TtlCache } from '../src/auth/ttl-cache.js'

test('entries expire at their time on the owner\'s clock', async (t) => {
  const c = new TtlCache<string>(10)
  c.set('a', 'x', 1000)
  t.equal(c.get('a', 999), 'x')
  t.equal(c.get('a', 1000), undefined, 'gone at expiresAt')
  t.equal(c.size, 0, 'and forgotten')
})

test('full: the least recently read entry goes first', async (t) => {
  const c = new TtlCache<number>(2)
  c.set('a', 1, 1e12)
  c.set('b', 2, 1e12)
  t.equal(c.get('a', 0), 1, 'a read: b is now the least recent')
  c.set('c', 3, 1e12)
  t.equal(c.get('b', 0), undefined)
  t.equal(c.get('a', 0), 1)
  t.equal(c.get('c', 0), 3)
  t.equal(c.size, 2)
  c.delete('a')
  t.equal(c.get('a', 0), undefined)
  c.clear()
  t.equal(c.size, 0)
})

test('size 0 keeps nothing; a bad size is refused', async (t) => {
  const c = new TtlCache<number>(0)
  c.set('a', 1, 1e12)
  t.equal(c.get('a', 0), undefined)
  t.throws(() => new TtlCache(-1), RangeError)
})
