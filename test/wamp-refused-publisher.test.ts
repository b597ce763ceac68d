// A backend left outside ORO_WEBSOCKET_BACKEND_NETWORKS (Oro's docker demo publishes from another
// container) loses every publish. The first refused publish from an address is logged at error;
// its later ones at warning, throttled (one line a minute per address, carrying the count).
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { FirstSeen } from '../src/first-seen.js'

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
