import t from 'tap'
import { LogThrottle, OTHER_KEY, clip } from '../src/log-throttle.js'

t.test('clip keeps short values and cuts long ones with their length', async (t) => {
  t.equal(clip('abc'), 'abc')
  const long = 'x'.repeat(3000)
  const clipped = clip(long, 100)
  t.ok(clipped.length < 130)
  t.match(clipped, /…\(3000 chars\)$/)
  t.equal(clip(undefined), 'undefined')
})

t.test('one line per key per interval, the next one tells how many were left out', async (t) => {
  let now = 0
  const throttle = new LogThrottle({ intervalMs: 1000, now: () => now })
  t.equal(throttle.take('a'), 0)
  t.equal(throttle.take('a'), -1)
  t.equal(throttle.take('a'), -1)
  t.equal(throttle.take('b'), 0, 'another key has its own line')
  now = 1000
  t.equal(throttle.take('a'), 2, 'two lines were left out')
  t.equal(throttle.take('a'), -1)
})

t.test('distinct details past maxKeys share one line: a flood of distinct values stays bounded', async (t) => {
  let now = 0
  const throttle = new LogThrottle({ intervalMs: 1000, maxKeys: 10, now: () => now })
  let written = 0
  for (let i = 0; i < 20_000; i++) if (throttle.take('origin', `origin-${i}`) >= 0) written++
  t.equal(written, 11, '10 details and one line for all the others')
  t.ok(throttle.size <= 11)
  now = 1000
  // The interval ended: old details are forgotten, what they owed is reported by the shared one.
  const owed = throttle.take('origin', OTHER_KEY)
  t.equal(owed, 20_000 - 11, 'every left-out line is counted once')
  t.ok(throttle.size <= 11)
})

t.test('a flood of one category never silences another (issue 18)', async (t) => {
  const throttle = new LogThrottle({ intervalMs: 1000, maxKeys: 10, now: () => 0 })
  for (let i = 0; i < 500; i++) throttle.take('protocol-error', `203.0.113.${i}`)
  t.equal(throttle.take('slow-consumer'), 0, 'the slow consumer line is written')
  t.equal(throttle.take('publish-dropped'), 0, 'and so is a dropped publish')
  t.equal(throttle.take('slow-consumer'), -1, 'then throttled on its own')
})
