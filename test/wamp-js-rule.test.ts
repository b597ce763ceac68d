// wamp.js's reconnect rule as the tests' pages and the storm bench play it (bench/lib/wamp-js-rule.mjs,
// oro-compat §6), on a clock the test moves: the sockets' tests (reconnect-rules*.test.ts) cannot
// reach master's fallback past 15 s without waiting a minute.
import { test } from 'tap'
import { createReconnectRule, ORO_DELAYS } from '../bench/lib/wamp-js-rule.mjs'

test('released: "connection lost" at once, then retryDelay x attempts, after a loss and after every failed connect', async (t) => {
  const rule = createReconnectRule({ rule: 'released' })
  t.same(rule.lost(0), { delay: 60_000, showLost: true, retryCount: 1 })
  t.same(rule.failed(60_000), { delay: 120_000, showLost: true, retryCount: 2 })
  t.same(rule.failed(180_000), { delay: 180_000, showLost: true, retryCount: 3 })
  rule.connected()
  t.same(rule.lost(500_000), { delay: 60_000, showLost: true, retryCount: 1 }, 'a new loss starts again')
})

test('master: silent retries every 2 s while 15 s have not passed since the loss, then as released', async (t) => {
  const rule = createReconnectRule({ rule: 'master' })
  t.same(rule.lost(0), { delay: 2000, showLost: false, retryCount: 0 })
  for (let at = 2000; at < 15_000; at += 2000) t.same(rule.failed(at), { delay: 2000, showLost: false, retryCount: 0 }, `failed at ${at} ms: silent`)
  t.same(rule.failed(16_000), { delay: 60_000, showLost: true, retryCount: 1 }, 'past 15 s: "connection lost", 60 s')
  t.same(rule.failed(76_000), { delay: 120_000, showLost: true, retryCount: 2 })
  rule.connected()
  t.same(rule.lost(300_000), { delay: 2000, showLost: false, retryCount: 0 }, 'a new loss: a new silent window')
})

test('a first connect that fails counts from when it began; every delay scales', async (t) => {
  const rule = createReconnectRule({ rule: 'master', scale: 0.5 })
  t.same(rule.delays, { retryDelay: ORO_DELAYS.retryDelay / 2, keepReconnectRetryDelay: 1000, keepReconnectTimeout: 7500 })
  rule.begin(0)
  t.same(rule.failed(7000), { delay: 1000, showLost: false, retryCount: 0 })
  t.same(rule.failed(8000), { delay: 30_000, showLost: true, retryCount: 1 })
  t.throws(() => createReconnectRule({ rule: 'beta' as 'master' }), /master or released, not beta/)
  t.throws(() => createReconnectRule({ scale: 0 }), /scale/)
})
