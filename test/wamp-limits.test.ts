// Issue 10: no session can take the node down. Each per-session structure has a bound that ends
// the session, a fault in one session's handling ends that session only, upgrades to HTTP routes
// are answered at once, and refusals are logged where an operator sees them, clipped and throttled.
import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { TEST_ORIGIN, connectWamp } from './helpers/wamp-client.js'

test('PREFIX flood: a session is closed with 1007 at ORO_WEBSOCKET_MAX_PREFIXES; the others keep receiving', async (t) => {
  const { app, wsUrl, url } = await startApp(t, { ORO_WEBSOCKET_MAX_TOPIC_LENGTH: '65536', ORO_WEBSOCKET_MAX_PREFIXES: '32', ORO_WEBSOCKET_MAX_FRAME_BYTES: '131072' }, 'dev', 'info')
  const bystander = await connectWamp(wsUrl)
  const publisher = await connectWamp(wsUrl)
  t.teardown(() => { bystander.close(); publisher.close() })
  bystander.subscribe('t')
  await bystander.sync()

  const flooder = await connectWamp(wsUrl)
  t.teardown(() => flooder.close())
  const long = 'u'.repeat(60_000)
  for (let i = 0; i < 32; i++) flooder.send([1, `q${i}`, long])
  await flooder.sync()
  t.equal(flooder.ws.readyState, WebSocket.OPEN, 'up to the bound the session stays open')
  const session = [...app.sessions].find((s) => s.id === flooder.sessionId)
  t.equal(session?.prefixCount, 32)
  flooder.send([1, 'q0', 'redefined']) // redefining a prefix is no new one
  await flooder.sync()
  t.equal(flooder.ws.readyState, WebSocket.OPEN)
  // The flood goes on: the 33rd prefix closes it; what follows is ignored.
  const protocolErrorsBefore = app.stats.protocolErrors
  for (let i = 32; i < 200 && flooder.ws.readyState === WebSocket.OPEN; i++) flooder.send([1, `q${i}`, long])
  const closed = await flooder.closed
  t.equal(app.stats.protocolErrors - protocolErrorsBefore, 1, 'one protocol error: frames after the close are not handled')
  t.equal(closed.code, 1007)
  t.match(closed.reason, /ORO_WEBSOCKET_MAX_PREFIXES/, 'the reason names the setting')
  t.ok((session?.prefixCount ?? 0) <= 32, 'never more than the bound')

  publisher.publish('t', 'after the flood')
  t.same(await bystander.waitForEvents(1, 't'), ['after the flood'], 'the others keep receiving')
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'the process is up')
})

test('PREFIX longer than ORO_WEBSOCKET_MAX_TOPIC_LENGTH closes the session at once', async (t) => {
  const { wsUrl } = await startApp(t, {}, 'dev', 'info')
  const c = await connectWamp(wsUrl)
  c.send([1, 'q0', 'u'.repeat(60_000)])
  const closed = await c.closed
  t.equal(closed.code, 1007)
  t.match(closed.reason, /ORO_WEBSOCKET_MAX_TOPIC_LENGTH/)
  const p = await connectWamp(wsUrl)
  p.send([1, 'p'.repeat(600), 'http://example.com/'])
  t.match((await p.closed).reason, /ORO_WEBSOCKET_MAX_TOPIC_LENGTH/, 'the prefix name is bounded too')
})

test('a fault in one session ends it with 1011; the process and the other sessions go on', async (t) => {
  const { app, wsUrl, url, logs } = await startApp(t, {}, 'dev', 'info')
  // Faults injected into the real app: a policy and a broker that throw for one topic.
  const policy = app.sessionPolicy
  const subscribe = policy.subscribe.bind(policy)
  policy.subscribe = (topic, session) => {
    if (topic === 'boom') throw new Error('injected policy fault')
    return subscribe(topic, session)
  }
  const broker = app.broker
  const publish = broker.publish.bind(broker)
  broker.publish = (publication) => {
    if (publication.topic === 'boom') throw new Error('injected broker fault')
    return publish(publication)
  }
  const faultsBefore = app.stats.sessionFaults

  const bystander = await connectWamp(wsUrl)
  const publisher = await connectWamp(wsUrl)
  t.teardown(() => { bystander.close(); publisher.close() })
  bystander.subscribe('t')
  await bystander.sync()

  const subscriber = await connectWamp(wsUrl)
  subscriber.subscribe('boom')
  const closedSubscriber = await subscriber.closed
  t.equal(closedSubscriber.code, 1011, 'a throwing policy: 1011')
  const faultyPublisher = await connectWamp(wsUrl)
  faultyPublisher.publish('boom', 1)
  const closedPublisher = await faultyPublisher.closed
  t.equal(closedPublisher.code, 1011, 'a throwing broker: 1011')

  publisher.publish('t', 'still here')
  t.same(await bystander.waitForEvents(1, 't'), ['still here'], 'another session keeps working')
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'the process is alive')
  t.equal(app.stats.sessionFaults - faultsBefore, 2, 'counted')
  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.match(metrics, /oro_ws_session_faults_total \d+/, 'in /metrics')
  const errors = logs.filter((l) => l.level === 'error')
  t.same(errors.map((l) => l.sessionId).sort(), [subscriber.sessionId, faultyPublisher.sessionId].sort(), 'logged at error with the session id')
  t.match(errors[0], { err: { message: /injected/ } }, 'with the error')
})

test('an upgrade to an HTTP route is answered at once, not held corked', async (t) => {
  const { wsUrl } = await startApp(t, {}, 'dev', 'info')
  for (const path of ['/healthz', '/metrics']) {
    const ws = new WebSocket(`${wsUrl}${path}`, ['wamp'], { origin: TEST_ORIGIN, perMessageDeflate: false })
    let opened = false
    ws.on('open', () => { opened = true })
    const closed = await new Promise<{ code: number, error: string }>((resolve) => {
      ws.on('error', (err) => { resolve({ code: -1, error: err.message }) })
      ws.on('close', (code) => { resolve({ code, error: '' }) })
    })
    t.ok(opened, `${path}: the 101 arrived`)
    t.equal(closed.code, 1005, `${path}: then a close frame (no WebSocket here), and the socket ended`)
  }
})

test('refused publishes and subscriptions: logged at the right level, clipped, throttled', async (t) => {
  const { wsUrl, logs } = await startApp(t, {}, 'dev', 'info')
  // A forwarding header from a trusted proxy: a browser behind nginx, not a backend.
  const browser = await connectWamp(wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.5' } })
  t.teardown(() => browser.close())
  const longTopic = 'oro/' + 'x'.repeat(5000)
  browser.publish(longTopic, 1)
  for (let i = 0; i < 50; i++) browser.publish('oro/data/update', i)
  await browser.sync()
  const refused = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused'))
  t.equal(refused.length, 1, 'one line for 51 refusals (the next, a minute later, carries the count)')
  t.equal(refused[0]?.level, 'error', 'the first from an address at error: a backend outside ORO_WEBSOCKET_BACKEND_NETWORKS loses every publish')
  t.equal(refused[0]?.address, '203.0.113.5', 'with the client address')
  t.match(refused[0]?.msg, /ORO_WEBSOCKET_BACKEND_NETWORKS/, 'and the setting to change')
  t.ok(String(refused[0]?.topic).length < 300, 'the topic is clipped')

  for (let i = 0; i < 20; i++) browser.subscribe('y'.repeat(1000 + i))
  await browser.sync()
  const subRefused = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('subscription refused'))
  t.equal(subRefused.length, 1, 'twenty refused subscriptions: one line')
  t.ok(String(subRefused[0]?.topic).length < 300, 'clipped')
  t.equal(browser.ws.readyState, WebSocket.OPEN, 'the session stays open')
})
