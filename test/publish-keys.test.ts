import { test } from 'tap'
import { bearerToken, createPublishKeys } from '../src/publish/keys.js'

test('a presented key matches only a configured key, whole and exact', async (t) => {
  const keys = createPublishKeys(['short-key', 'a-much-longer-second-key-0123456789', 'clé-ünïcode'])
  t.equal(keys.count, 3)
  t.equal(keys.match('short-key'), 0)
  t.equal(keys.match('a-much-longer-second-key-0123456789'), 1)
  t.equal(keys.match('clé-ünïcode'), 2, 'multibyte characters')
  t.equal(keys.match('short-ke'), -1, 'a prefix of a key')
  t.equal(keys.match('short-key\u0000'), -1, 'a key and a zero byte (the padding) is not the key')
  t.equal(keys.match('short-keyX'), -1, 'a key and more')
  t.equal(keys.match('a-much-longer-second-key-0123456789-and-beyond-the-longest-key'), -1, 'longer than every key, starting with one')
  t.equal(keys.match(''), -1, 'empty')
  t.equal(keys.match('cle-unicode'), -1)
  // After a long value, the buffer it was written to must not make a shorter one match.
  t.equal(keys.match('short-key-and-then-some-more-bytes'), -1)
  t.equal(keys.match('short-key'), 0, 'a match after a longer value')
})

test('the first of two equal keys is the one matched; no keys match nothing', async (t) => {
  t.equal(createPublishKeys(['k1', 'k1']).match('k1'), 0)
  const none = createPublishKeys([])
  t.equal(none.count, 0)
  t.equal(none.match(''), -1)
  t.equal(none.match('k'), -1)
})

test('bearer tokens', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc')
  t.equal(bearerToken('bearer   abc  '), 'abc')
  t.equal(bearerToken('Basic abc'), undefined)
  t.equal(bearerToken(undefined), undefined)
})
