// GET /metrics while real traffic runs: every metric of the README's table is exported with its
// documented type and labels, and moves (counters and histograms grow; the gauges that traffic
// changes change). The README is parsed, so the docs and the code cannot drift apart.
import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp, TEST_ORIGIN, type WampClient } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'
import { forgedTicket } from './helpers/raw-upgrade.js'
import { parseSamples, parseTypes, readmeMetrics, total, type Sample } from './helpers/prometheus.js'

const SECRET = 'metrics-test-secret'
const KEY = 'metrics-test-key'
const ticket = (): string => encodeURIComponent(makeTicket({ secret: SECRET }))

// Counters the traffic below cannot move cheaply; each names the test that drives it.
const NOT_DRIVEN: Record<string, string> = {
  oro_ws_publish_pauses_total: 'a publisher over the rate or pending limit: test/wamp-publish-flow.test.ts',
  oro_ws_publications_shed_total: 'a flood from Redis past the hub\'s queue bound: test/redis-hub-bound.test.ts',
  oro_ws_log_lines_dropped_total: 'stdout on a full disk: test/log-destination.test.ts'
}
// Gauges that change with the traffic (the others must be present: state and process gauges).
const MOVING_GAUGES = ['oro_ws_sessions', 'oro_ws_connections', 'oro_ws_subscriptions', 'oro_ws_topics', 'oro_ws_ready']
// Gauges without a sample in this setup.
const ABSENT: Record<string, string> = {
  oro_ws_database_up: 'no ORO_DB_URL here: not exported, as documented (test/metrics-database.test.ts has one)'
}

function refused (url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp'], { headers })
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0) })
    ws.on('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')) })
    ws.on('error', () => {})
  })
}

test('every metric the README lists is exported and moves under real traffic', async (t) => {
  const documented = readmeMetrics()
  t.ok(documented.length >= 20, `the README lists the metrics (${documented.length})`)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_MAX_TOPIC_LENGTH: '256' }, 'dev', 'warn')
  const scrape = async (): Promise<{ text: string, samples: Sample[] }> => {
    const response = await fetch(`${gw.url}/metrics`)
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    return { text, samples: parseSamples(text) }
  }
  const before = await scrape()

  // A browser (through a proxy: X-Forwarded-For, so it may not publish) and a backend (direct).
  const clients: WampClient[] = []
  t.teardown(() => { for (const c of clients) c.close() })
  const browser = await connectWamp(`${gw.wsUrl}/?ticket=${ticket()}`, { headers: { 'X-Forwarded-For': '203.0.113.7' } })
  const backend = await connectWamp(`${gw.wsUrl}/?ticket=${ticket()}`)
  clients.push(browser, backend)
  browser.subscribe('metrics/news')
  browser.subscribe('x'.repeat(300)) // over ORO_WEBSOCKET_MAX_TOPIC_LENGTH: refused
  await browser.sync()

  // Publishes: WAMP from the backend (ok) and from the browser (refused); HTTP ok, bad key, bad body.
  backend.publish('metrics/news', { n: 1 })
  browser.publish('metrics/news', { n: 'refused' })
  await browser.waitForEvents(1, 'metrics/news')
  const post = (key: string, body: unknown): Promise<Response> => fetch(`${gw.url}/publish`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  t.equal((await post(KEY, { topic: 'metrics/news', data: { n: 2 } })).status, 202)
  t.equal((await post('wrong-key', { topic: 'metrics/news', data: {} })).status, 401)
  t.equal((await post(KEY, { nope: true })).status, 400)
  await browser.waitForEvents(2, 'metrics/news')

  // A fan-out over one turn's write budget (8,192 writes) yields to the event loop.
  const FANOUT = 9000
  for (let i = 0; i < FANOUT; i++) void gw.app.broker.publish({ topic: 'metrics/bulk', payload: '1' })
  browser.subscribe('metrics/bulk')
  await browser.sync()
  for (let i = 0; i < FANOUT; i++) void gw.app.broker.publish({ topic: 'metrics/bulk', payload: '1' })
  await browser.waitForEvents(FANOUT, 'metrics/bulk', 60_000)

  // Refusals before the handshake: an origin not allowed, a forged ticket.
  t.equal(await refused(`${gw.wsUrl}/?ticket=${ticket()}`, { Origin: 'http://evil.example' }), 403)
  t.equal(await refused(`${gw.wsUrl}/?ticket=${encodeURIComponent(forgedTicket())}`, { Origin: TEST_ORIGIN }), 401)

  // Sessions the gateway ends: a frame that is not WAMP (1007).
  const broken = await connectWamp(`${gw.wsUrl}/?ticket=${ticket()}`)
  broken.send('this is not JSON')
  t.equal((await broken.closed).code, 1007)

  // Garbage for the GC histogram: a few MB of short-lived objects.
  for (let i = 0; i < 50; i++) new Array(100_000).fill({ i }).map((o) => ({ ...o }))

  const during = await scrape()

  // The drain drops every session and refuses new upgrades (shutdown reasons); /metrics still answers.
  gw.app.readiness.markDraining()
  await Promise.all([browser.closed, backend.closed])
  t.equal(await refused(`${gw.wsUrl}/?ticket=${ticket()}`, { Origin: TEST_ORIGIN }), 503)
  const after = await scrape()

  const types = parseTypes(after.text)
  for (const metric of documented) {
    t.test(metric.name, async (t) => {
      const samples = after.samples.filter((s) => s.name === metric.name || s.name === `${metric.name}_count`)
      if (ABSENT[metric.name] !== undefined) {
        t.equal(types.get(metric.name), undefined, ABSENT[metric.name])
        t.equal(samples.length, 0, 'no sample')
        return
      }
      t.equal(types.get(metric.name), metric.type, 'exported with the documented type')
      t.ok(samples.length > 0, 'has samples')
      for (const label of metric.labels) {
        if (label === 'le') continue
        t.ok(samples.every((s) => s.labels[label] !== undefined), `every sample has the label ${label}`)
      }
      const extra = samples.flatMap((s) => Object.keys(s.labels)).filter((l) => l !== 'le' && !metric.labels.includes(l))
      t.same([...new Set(extra)], [], 'no label the README does not list')
      if (metric.type === 'gauge') {
        t.ok(samples.every((s) => Number.isFinite(s.value)), 'finite values')
        if (MOVING_GAUGES.includes(metric.name)) {
          const values = [before, during, after].map((scrape) => JSON.stringify(scrape.samples.filter((s) => s.name === metric.name)))
          t.ok(new Set(values).size > 1, `changes with the traffic: ${values.join(' -> ')}`)
        }
        return
      }
      const grew = total(after.samples, metric.name, metric.type) - total(before.samples, metric.name, metric.type)
      if (NOT_DRIVEN[metric.name] !== undefined) {
        t.ok(grew >= 0, `not driven here: ${NOT_DRIVEN[metric.name]}`)
        return
      }
      t.ok(grew > 0, `grew by ${grew}`)
    })
  }

  // The labels the traffic above drove, each by the amount it should have.
  const grew = (family: string, type: string, labels: Record<string, string>): number =>
    total(after.samples, family, type, labels) - total(before.samples, family, type, labels)
  t.equal(grew('oro_ws_upgrades_rejected_total', 'counter', { reason: 'origin_forbidden' }), 1, 'origin refusal')
  t.equal(grew('oro_ws_upgrades_rejected_total', 'counter', { reason: 'ticket_invalid' }), 1, 'bad ticket')
  t.equal(grew('oro_ws_upgrades_rejected_total', 'counter', { reason: 'shutting_down' }), 1, 'refused while draining')
  t.equal(grew('oro_ws_sessions_dropped_total', 'counter', { reason: 'protocol_error' }), 1, 'the session closed with 1007')
  t.equal(grew('oro_ws_sessions_dropped_total', 'counter', { reason: 'shutdown' }), 2, 'the two sessions the drain dropped')
  t.equal(grew('oro_ws_publish_requests_total', 'counter', { transport: 'wamp', outcome: 'ok' }), 1, 'WAMP publish taken')
  t.equal(grew('oro_ws_publish_requests_total', 'counter', { transport: 'wamp', outcome: 'refused' }), 1, 'WAMP publish from a browser refused')
  t.equal(grew('oro_ws_publish_requests_total', 'counter', { transport: 'http', outcome: 'ok' }), 1, 'POST /publish 202')
  t.equal(grew('oro_ws_publish_requests_total', 'counter', { transport: 'http', outcome: 'unauthorized' }), 1, 'POST /publish 401')
  t.equal(grew('oro_ws_publish_requests_total', 'counter', { transport: 'http', outcome: 'refused' }), 1, 'POST /publish 400')
  t.equal(grew('oro_ws_subscribes_refused_total', 'counter', {}), 1, 'the topic over the length limit')
  t.equal(grew('oro_ws_upgrade_auth_seconds', 'histogram', { outcome: 'accepted' }), 3, 'three upgrades accepted')
  t.equal(grew('oro_ws_upgrade_auth_seconds', 'histogram', { outcome: 'refused' }), 2, 'two refused by the auth (the drain refuses before it)')
  t.equal(total(during.samples, 'oro_ws_connections', 'gauge', { kind: 'browser' }), 1, 'one browser session')
  t.equal(total(during.samples, 'oro_ws_connections', 'gauge', { kind: 'backend' }), 1, 'one backend session (the 1007 one had closed)')
  t.equal(total(during.samples, 'oro_ws_subscriptions', 'gauge', { kind: 'browser' }), 2, 'the browser\'s two subscriptions')
  t.equal(total(during.samples, 'oro_ws_broker_up', 'gauge'), 1, 'memory broker up')
  t.equal(total(after.samples, 'oro_ws_ready', 'gauge'), 0, 'not ready while draining')
})
