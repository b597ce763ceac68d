import { test } from 'tap'
import { ReplyWatch } from '../src/broker/reply-watch.js'
import { publishFailure } from '../src/broker/publish-outcome.js'
import { ReplyError } from 'ioredis'

function deferred (): { promise: Promise<string>, resolve: (v: string) => void, reject: (e: Error) => void } {
  let resolve: (v: string) => void = () => {}
  let reject: (e: Error) => void = () => {}
  const promise = new Promise<string>((res, rej) => { resolve = res; reject = rej })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const isReply = (err: unknown): boolean => err instanceof ReplyError

test('ReplyWatch: silent from the first unanswered command until any reply; a time-out is no reply', async (t) => {
  let clock = 0
  const watch = new ReplyWatch(() => clock)
  t.equal(watch.silentMs(), 0)
  const a = deferred()
  const b = deferred()
  watch.track(a.promise, isReply)
  clock = 300
  watch.track(b.promise, isReply)
  clock = 1000
  t.equal(watch.silentMs(), 1000, 'owed since the first command')
  a.reject(new Error('Command timed out'))
  await tick()
  t.equal(watch.silentMs(), 1000, 'a time-out does not end the silence')
  b.reject(new ReplyError('ERR something'))
  await tick()
  t.equal(watch.silentMs(), 0, 'an error reply is a reply')
  const c = deferred()
  watch.track(c.promise, isReply)
  clock = 5000
  watch.reset()
  t.equal(watch.silentMs(), 0, 'a new connection owes nothing')
  c.reject(new Error('Connection is closed.'))
  await tick()
  const d = deferred()
  watch.track(d.promise, isReply)
  clock = 5400
  t.equal(watch.silentMs(), 400, 'the old connection\'s late failure does not disturb the count')
  d.resolve('OK')
  await tick()
  t.equal(watch.silentMs(), 0)
})

test('publishFailure: 503 only when certainly not delivered', async (t) => {
  t.match(publishFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false")), { code: 'GW_ERR_BROKER_UNAVAILABLE', statusCode: 503 })
  t.match(publishFailure(new ReplyError('NOAUTH Authentication required.')), { code: 'GW_ERR_BROKER_UNAVAILABLE' })
  t.match(publishFailure(new Error('Command timed out')), { code: 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN', statusCode: 504 })
  t.match(publishFailure(new Error('Connection is closed.')), { code: 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN' })
  t.match(publishFailure(new ReplyError('ERR'), 2), { code: 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN', message: /first 2 publication\(s\) of the batch were delivered/ })
})
