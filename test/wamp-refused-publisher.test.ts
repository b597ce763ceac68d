// A backend left outside ORO_WEBSOCKET_BACKEND_NETWORKS (Oro's docker demo publishes from another
// container) loses every publish. The first refused publish from an address is logged at error;
// its later ones at warning, throttled (one line a minute per address, carrying the count).
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { FirstSeen } from '../src/first-seen.js'
import { makeTicket } from './helpers/tickets.js'

test('the first refused publish of an address at error, later ones at warning once a minute, each address its own first', async (t) => {
  const gw = await startApp(t, {}, 'dev', 'warn')
  // Through the site's proxy (loopback is trusted): the forwarded address is the client's.
  const first = await connectWamp(gw.wsUrl, { headers: { 'X-Forwarded-For': '10.9.0.7' } })
  t.teardown(() => first.close())
  first.publish('oro/data/update', 1)
  await first.sync()
  const lines = (): Array<Record<string, unknown>> => gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused'))
  t.match(lines(), [{ level: 'error', address: '10.9.0.7', first: true, msg: /ORO_WEBSOCKET_BACKEND_NETWORKS.*the first from 10\.9\.0\.7, its later ones at warning, once a minute$/ }])
  for (let i = 0; i < 5; i++) first.publish('oro/data/update', i)
  await first.sync()
  t.equal(lines().length, 1, 'the repeats within the minute are counted, not logged')

  // The same address again on a new session: no longer the first.
  const again = await connectWamp(gw.wsUrl, { headers: { 'X-Forwarded-For': '10.9.0.7' } })
  t.teardown(() => again.close())
  again.publish('oro/data/update', 'again')
  await again.sync()
  t.equal(lines().length, 1, 'a new session from the same address is not a first')
  const other = await connectWamp(gw.wsUrl, { headers: { 'X-Forwarded-For': '10.9.0.8' } })
  t.teardown(() => other.close())
  other.publish('oro/maintenance', { isOn: false, userId: null })
  await other.sync()
  t.match(lines().at(-1), { level: 'error', address: '10.9.0.8', first: true }, 'another address has its own first')

  const seen = new FirstSeen(2)
  t.same(['a', 'a', 'b', 'c', 'a', 'c'].map((k) => seen.first(k)), [true, false, true, true, true, false], 'bounded: past max the oldest is forgotten')
})

test('refused publishes from ever new addresses (a flood over an IPv6 /64, or a proxy) are throttled like any refusal: no error line each', async (t) => {
  const gw = await startApp(t, {}, 'dev', 'warn')
  const sessions: WampClient[] = []
  for (let i = 0; i < 260; i++) {
    const client = await connectWamp(gw.wsUrl, { headers: { 'X-Forwarded-For': `2001:db8::${(i + 1).toString(16)}` } })
    sessions.push(client)
    client.publish('oro/data/update', i)
    await client.sync()
  }
  t.teardown(() => { for (const s of sessions) s.close() })
  const lines = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused'))
  // The throttle remembers 200 addresses a category; past them, one line stands for the rest.
  t.ok(lines.length <= 201, `at most 201 lines a minute (${lines.length})`)
  t.equal(lines.filter((l) => l.level === 'error').length, lines.length, 'those written are the addresses\' firsts, at error')
})

// Issue 16: without --app-root (usual in Docker and Kubernetes) a custom bundle's routes are
// unknown, so Oro's backend publishing to them is refused: every such publish is lost. At the
// default prod level (warning) that must show: the first per address and reason at error, naming
// the topic and the fix, later ones at warning (throttled).
test('a backend\'s publish refused for no route: the first per address and reason at error with the fix, never only at notice', async (t) => {
  // Oro's own routes only (no --app-root, ORO_WEBSOCKET_TOPICS empty); prod's default level.
  const gw = await startApp(t, { ORO_SECRET: 'refused-secret', ORO_WEBSOCKET_TOPICS: '', ORO_WEBSOCKET_MAX_TOPIC_LENGTH: '64' }, 'prod', 'warn')
  const ticket = encodeURIComponent(makeTicket({ secret: 'refused-secret' }))
  const backend = await connectWamp(`${gw.wsUrl}/?ticket=${ticket}`, { headers: { Origin: '127.0.0.1' } })
  t.teardown(() => backend.close())
  backend.publish('acme/custom/7', { hello: 1 })
  await backend.sync()
  const lines = (): Array<Record<string, unknown>> => gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused'))
  t.match(lines(), [{ level: 'error', address: '127.0.0.1', topic: 'acme/custom/7', reason: 'no-route', first: true }])
  t.match(lines()[0]?.msg, /acme\/custom\/7.*--app-root.*ORO_WEBSOCKET_TOPICS.*the first from 127\.0\.0\.1, its later ones at warning, once a minute$/)
  for (let i = 0; i < 3; i++) backend.publish('acme/custom/7', i)
  await backend.sync()
  t.equal(lines().length, 1, 'repeats within the minute are counted, not logged')
  backend.publish('x'.repeat(65), 1)
  await backend.sync()
  t.match(lines().at(-1), { level: 'error', reason: 'topic-too-long', first: true }, 'another reason from the same address has its own first')
  t.equal(lines().length, 2)
})

test('POST /publish to a topic with no route: 404 GW_ERR_TOPIC_NOT_ROUTED naming --app-root and ORO_WEBSOCKET_TOPICS', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: 'refused-secret', ORO_WEBSOCKET_TOPICS: '', ORO_WEBSOCKET_PUBLISH_KEYS: 'refused-key' }, 'prod', 'warn')
  const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer refused-key' }, body: JSON.stringify({ topic: 'acme/custom/7', data: 1 }) })
  t.equal(res.status, 404)
  t.match(await res.json(), { code: 'GW_ERR_TOPIC_NOT_ROUTED', message: /acme\/custom\/7.*--app-root.*ORO_WEBSOCKET_TOPICS/ })
})
