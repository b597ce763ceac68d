import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

test('WELCOME, subprotocol and session ids', async (t) => {
  const { wsUrl } = await startApp(t)
  const a = await connectWamp(`${wsUrl}/ws?ticket=x`)
  const b = await connectWamp(`${wsUrl}/`)
  const c = await connectWamp(`${wsUrl}/any/other/path`, { protocols: [] })
  t.teardown(() => { a.close(); b.close(); c.close() })
  t.equal(a.protocol, 'wamp', 'wamp is selected when offered')
  t.equal(c.protocol, '', 'a client offering no subprotocol is accepted')
  for (const client of [a, b, c]) t.match(client.sessionId, /^[A-Za-z0-9_-]{20,}$/, 'session ids are URL-safe and long')
  t.not(a.sessionId, b.sessionId)
})

test('SUBSCRIBE, PUBLISH, EVENT, UNSUBSCRIBE; payloads pass through exactly', async (t) => {
  const { wsUrl } = await startApp(t)
  const sub = await connectWamp(`${wsUrl}/ws`)
  const other = await connectWamp(`${wsUrl}/ws`)
  const pub = await connectWamp(`${wsUrl}/ws`)
  t.teardown(() => { sub.close(); other.close(); pub.close() })
  sub.subscribe('oro/data/update')
  sub.subscribe('oro/data/update') // duplicate: no-op
  other.subscribe('oro/maintenance')
  await sub.sync(); await other.sync()
  pub.send('[7, "oro/data/update", [] ]')
  pub.send('[7,"oro/data/update",{"a" : 1.0, "b":"\\u00e9[]"}]')
  pub.publish('oro/maintenance', { isOn: true, userId: null })
  const events = await sub.waitForEvents(2, 'oro/data/update')
  t.same(events, [[], { a: 1, b: 'é[]' }])
  const raw = sub.frames.filter((f) => f[0] === 8)
  t.equal(raw.length, 2, 'a duplicate SUBSCRIBE does not double deliveries')
  await other.waitForEvents(1, 'oro/maintenance')
  t.same(other.events(), [{ isOn: true, userId: null }], 'only subscribers of the topic get it')

  // The exact bytes: capture the raw text of the next event.
  const rawText = new Promise<string>((resolve) => sub.ws.once('message', (d) => resolve(d.toString())))
  pub.send('[7,"oro/data/update",{"a" : 1.0}]')
  t.equal(await rawText, '[8,"oro/data/update",{"a" : 1.0}]', 'the payload bytes are passed through untouched')

  sub.unsubscribe('oro/data/update')
  sub.unsubscribe('never/subscribed') // no-op
  await sub.sync()
  pub.publish('oro/data/update', ['after'])
  await pub.sync(); await sub.sync()
  t.equal(sub.events('oro/data/update').length, 3, 'nothing after UNSUBSCRIBE')
})

test('PUBLISH forms: excludeMe, exclude list, exclude + eligible', async (t) => {
  const { wsUrl } = await startApp(t)
  const [a, b, c] = await Promise.all([connectWamp(wsUrl), connectWamp(wsUrl), connectWamp(wsUrl)])
  t.teardown(() => { a.close(); b.close(); c.close() })
  for (const s of [a, b, c]) s.subscribe('t')
  await Promise.all([a.sync(), b.sync(), c.sync()])
  a.publish('t', 1, true) // exclude me
  a.publish('t', 2, false) // exclude nobody
  a.publish('t', 3, [b.sessionId]) // exclude b
  a.publish('t', 4, [], [c.sessionId]) // only c
  a.publish('t', 5, [c.sessionId], [b.sessionId, c.sessionId]) // eligible b and c, c excluded
  a.publish('t', 6, [], []) // empty eligible list: everybody
  await Promise.all([a.sync(), b.sync(), c.sync()])
  await a.sync(); await b.sync(); await c.sync()
  t.same(a.events('t'), [2, 3, 6])
  t.same(b.events('t'), [1, 2, 5, 6])
  t.same(c.events('t'), [1, 2, 3, 4, 6])
})

test('PREFIX and CURIEs: a CURIE subscription receives the expanded URI', async (t) => {
  const { wsUrl } = await startApp(t)
  const sub = await connectWamp(wsUrl)
  const pub = await connectWamp(wsUrl)
  t.teardown(() => { sub.close(); pub.close() })
  sub.prefix('event', 'http://example.com/event')
  sub.subscribe('event:created')
  sub.subscribe('undeclared:x')
  await sub.sync()
  pub.publish('http://example.com/event#created', 'full')
  // As Ratchet: base + '#' + rest (a base that ends in '#' would get a second one).
  pub.prefix('ev', 'http://example.com/event')
  pub.publish('ev:created', 'curie')
  pub.publish('undeclared:x', 'literal')
  await sub.waitForEvents(3)
  t.same(sub.frames.filter((f) => f[0] === 8), [
    [8, 'http://example.com/event#created', 'full'],
    [8, 'http://example.com/event#created', 'curie'],
    [8, 'undeclared:x', 'literal']
  ])
})

test('CALL gets a CALLERROR and the session stays open', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = await connectWamp(wsUrl)
  t.teardown(() => c.close())
  c.call('42', 'http://example.com/rpc#add', 1, 2)
  await c.sync()
  const error = c.frames.find((f) => f[0] === 4 && f[1] === '42')
  t.match(error, [4, '42', /^http:\/\//, /No RPC/])
  t.equal(c.ws.readyState, WebSocket.OPEN)
})

test('delivery order per topic is the publish order', async (t) => {
  const { wsUrl } = await startApp(t)
  const sub = await connectWamp(wsUrl)
  const pub = await connectWamp(wsUrl)
  t.teardown(() => { sub.close(); pub.close() })
  sub.subscribe('seq')
  await sub.sync()
  for (let i = 0; i < 500; i++) pub.publish('seq', i)
  const got = await sub.waitForEvents(500, 'seq')
  t.same(got, Array.from({ length: 500 }, (_, i) => i))
})

test('oro/ping: client publishes are ignored silently, from a browser and from a backend (the session\'s guard)', async (t) => {
  const { app, wsUrl, logs } = await startApp(t)
  const sub = await connectWamp(wsUrl)
  const browser = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.20' } })
  const backend = await connectWamp(wsUrl) // loopback, no forwarding headers: may publish
  t.teardown(() => { sub.close(); browser.close(); backend.close() })
  sub.subscribe('oro/ping')
  sub.subscribe('after')
  await sub.sync()
  const refusedBefore = app.stats.publishesRefused
  const receivedBefore = app.stats.publishesReceived
  browser.publish('oro/ping', 'from a browser')
  backend.publish('oro/ping', 'from a backend')
  await browser.sync()
  // A barrier: the backend's next publish arrives after anything its oro/ping publish could cause.
  backend.publish('after', 'done')
  t.same(await sub.waitForEvents(1, 'after'), ['done'])
  t.same(sub.events('oro/ping'), [], 'nothing delivered')
  t.equal(app.stats.publishesRefused, refusedBefore, 'not counted as refused: Oro\'s server ignores them too')
  t.equal(app.stats.publishesReceived, receivedBefore + 1, 'only the barrier was received')
  t.notOk(logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused')), 'and not logged as refused')
})
