import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

// Each malformed frame closes only its own session with 1007 and a reason naming the problem;
// a bystander subscribed meanwhile keeps receiving.
const malformed: Array<[string | Buffer, RegExp]> = [
  ['{not json', /invalid JSON/],
  ['{"a":1}', /must be a JSON array/],
  ['"text"', /must be a JSON array/],
  ['[]', /numeric type id/],
  ['["5","t"]', /numeric type id/],
  ['[9,"t"]', /unknown or server-only message type 9/],
  ['[0,"x",1,"y"]', /unknown or server-only message type 0/],
  ['[8,"t",1]', /unknown or server-only message type 8/],
  ['[5]', /SUBSCRIBE topic must be a string/],
  ['[5,42]', /SUBSCRIBE topic must be a string/],
  ['[6,null]', /UNSUBSCRIBE topic must be a string/],
  ['[1,"p"]', /PREFIX uri must be a string/],
  ['[2,1,"proc"]', /CALL callId must be a string/],
  ['[7,"t"]', /PUBLISH needs an event/],
  ['[7,"t",1,"me"]', /PUBLISH exclude must be a list/],
  ['[7,"t",1,[1]]', /PUBLISH exclude must be a list/],
  ['[7,"t",1,[],{}]', /PUBLISH eligible must be a list/],
  [Buffer.from([1, 2, 3]), /binary frames are not WAMP v1/]
]

test('malformed frames close the session with 1007 and a reason; others are untouched', async (t) => {
  const { wsUrl, logs } = await startApp(t)
  const bystander = await connectWamp(wsUrl)
  const publisher = await connectWamp(wsUrl)
  t.teardown(() => { bystander.close(); publisher.close() })
  bystander.subscribe('t')
  await bystander.sync()
  let n = 0
  const reasons = new Set<string>()
  for (const [i, [frame, reason]] of malformed.entries()) {
    // Each from its own address (through the trusted proxy): refusal lines are throttled per kind and address.
    const bad = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': `203.0.113.${i + 1}` } })
    bad.subscribe('t')
    await bad.sync()
    if (typeof frame === 'string') bad.send(frame)
    else bad.ws.send(frame, { binary: true })
    const closed = await bad.closed
    t.equal(closed.code, 1007, `${frame.toString()} → 1007`)
    t.match(closed.reason, reason, `${frame.toString()} → reason`)
    reasons.add(closed.reason)
    publisher.publish('t', ++n)
  }
  const events = await bystander.waitForEvents(malformed.length, 't')
  t.same(events, Array.from({ length: malformed.length }, (_, i) => i + 1), 'the bystander got every event')
  // One line per kind and address per minute (LogThrottle): a flood from one client is one line,
  // whatever text it sends.
  const again = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } })
  again.send('[99]')
  t.equal((await again.closed).code, 1007)
  const logged = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('closing session:'))
  t.same(new Set(logged.map((l) => l.reason)), reasons, 'each client\'s reason is logged')
  t.equal(logged.length, malformed.length, 'once per address; a repeat from the same address is left out')
  t.equal(logged[0]?.level, 'info')
  t.type(logged[0]?.sessionId, 'string', 'with the session id')
})

test('a frame over the inbound limit closes a browser session with 1009', async (t) => {
  const { wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_FRAME_BYTES: '2048' })
  // Browsers (from outside the backend networks, through the trusted proxy): backends have their
  // own, larger limit (test/wamp-backend-size.test.ts).
  const browser = { headers: { 'X-Forwarded-For': '203.0.113.7' } }
  const c = await connectWamp(wsUrl, browser)
  c.publish('t', 'x'.repeat(3000))
  const closed = await c.closed
  t.equal(closed.code, 1009)
  const ok = await connectWamp(wsUrl, browser)
  t.teardown(() => ok.close())
  ok.publish('t', 'x'.repeat(1500))
  await ok.sync()
  t.equal(ok.ws.readyState, WebSocket.OPEN, 'a frame under the limit is fine')
  t.ok(logs.some((l) => typeof l.msg === 'string' && l.msg.includes('1009')), 'logged')
})

test('over-long topics and too many subscriptions are refused; the session stays open', async (t) => {
  const { wsUrl, logs } = await startApp(t, { ORO_WEBSOCKET_MAX_TOPIC_LENGTH: '32', ORO_WEBSOCKET_MAX_SUBSCRIPTIONS: '3' })
  const sub = await connectWamp(wsUrl)
  const pub = await connectWamp(wsUrl)
  t.teardown(() => { sub.close(); pub.close() })
  const long = 'x'.repeat(33)
  sub.subscribe(long)
  for (const topic of ['a', 'b', 'c', 'd']) sub.subscribe(topic)
  await sub.sync()
  for (const topic of [long, 'a', 'b', 'c', 'd']) pub.publish(topic, topic.slice(0, 1))
  await pub.sync()
  await sub.waitForEvents(3)
  await sub.sync()
  t.same(sub.frames.filter((f) => f[0] === 8).map((f) => f[1]), ['a', 'b', 'c'])
  t.equal(sub.ws.readyState, WebSocket.OPEN)
  t.notOk(sub.frames.some((f) => f[0] !== 8 && f[0] !== 4), 'nothing but events and sync answers was sent')
  const refusals = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('subscription refused'))
  t.same(refusals.map((l) => l.reason), ['topic-too-long', 'too-many-subscriptions'])
  t.equal(refusals[0]?.level, 'notice')
})

test('many bad clients at once: each gets its defined answer, and the process goes on', async (t) => {
  const { wsUrl, url } = await startApp(t, {}, 'dev', 'info')
  // 'open': refused or ignored with the session kept (it answers the sync CALL afterwards).
  const garbage: Array<[string, number | 'open']> = [
    ['', 1007], ['[', 1007], [']', 1007], ['[7', 1007], ['null', 1007], ['[7,"t",{"a":]', 1007], ['\u0000', 1007],
    ['[5,"' + 'a'.repeat(10000) + '"]', 'open'], // a topic over the length limit: refused, session kept
    ['[1,"p","u"]'.repeat(3), 1007]
  ]
  const outcomes = await Promise.all(garbage.map(async ([frame]) => {
    const c = await connectWamp(wsUrl)
    c.send(frame)
    const outcome = await Promise.race([c.closed.then((closed) => closed.code), c.sync().then(() => 'open' as const)])
    c.close()
    return outcome
  }))
  t.same(outcomes, garbage.map(([, expected]) => expected), 'the close code (or an open session) each frame is defined to get')
  const res = await fetch(`${url}/healthz`)
  t.equal(res.status, 200, 'still alive')
})

test('a message in more than 64 fragments closes the session with 1008', async (t) => {
  const { wsUrl } = await startApp(t, {}, 'dev', 'info')
  const ok = await connectWamp(wsUrl)
  t.teardown(() => ok.close())
  // A few fragments are fine (nothing sends them, but they are WebSocket).
  const parts = ['[5,', '"t"', ']']
  parts.forEach((part, i) => { ok.ws.send(part, { fin: i === parts.length - 1 }) })
  await ok.sync()
  t.equal(ok.ws.readyState, WebSocket.OPEN, 'three fragments: one message')
  const c = await connectWamp(wsUrl)
  for (let i = 0; i < 100; i++) c.ws.send(i === 0 ? '[5,"' : 'x', { fin: false })
  const closed = await c.closed
  t.equal(closed.code, 1008)
})
