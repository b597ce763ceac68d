// Figures belong to one app (issue 18, "state per app"): two gateways in one process (as tests
// run them) each count only their own sessions, refusals and publishes, on /metrics and on the
// status page alike.
import { test } from 'tap'
import WebSocket from 'ws'
import { Writable } from 'node:stream'
import { startApp, type TestApp } from './helpers/app.js'
import { buildApp, buildPublishApp } from '../app.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { parseSamples, total } from './helpers/prometheus.js'
import type { StatusSnapshot } from '../src/status/board.js'

const KEY = 'stats-per-app-key'
const ENV = { ORO_WEBSOCKET_STATUS: 'on', ORO_WEBSOCKET_STATUS_KEY: KEY, ORO_WEBSOCKET_PUBLISH_KEYS: KEY }

interface Figures { opened: number, refused: number, httpOk: number, authAccepted: number, statusOpened: number, statusPublishes: number }

function refusedStatus (url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp'], { headers: { origin } })
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0) })
    ws.on('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')) })
    ws.on('error', () => {})
  })
}

async function figures (gw: TestApp): Promise<Figures> {
  const samples = parseSamples(await (await fetch(`${gw.url}/metrics`)).text())
  const status = await (await fetch(`${gw.url}/status.json`, { headers: { authorization: `Bearer ${KEY}` } })).json() as StatusSnapshot
  return {
    opened: total(samples, 'oro_ws_connections_opened_total', 'counter'),
    refused: total(samples, 'oro_ws_upgrades_rejected_total', 'counter'),
    httpOk: total(samples, 'oro_ws_publish_requests_total', 'counter', { transport: 'http', outcome: 'ok' }),
    authAccepted: total(samples, 'oro_ws_upgrade_auth_seconds', 'histogram', { outcome: 'accepted' }),
    statusOpened: status.totals.connectionsOpened,
    statusPublishes: status.totals.publishes
  }
}

test('a session, a refusal and a publish on one app do not move the other app\'s figures', async (t) => {
  const a = await startApp(t, ENV, 'dev', 'warn')
  const b = await startApp(t, ENV, 'dev', 'warn')
  const bBefore = await figures(b)
  const aBefore = await figures(a)

  const clients: WampClient[] = []
  t.teardown(() => { for (const client of clients) client.close() })
  clients.push(await connectWamp(a.wsUrl))
  t.equal(await refusedStatus(`${a.wsUrl}/`, 'http://evil.example'), 403, 'an upgrade from a foreign origin is refused')
  const published = await fetch(`${a.url}/publish`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'news', data: 1 }) })
  t.equal(published.status, 202)

  const aAfter = await figures(a)
  t.equal(aAfter.opened - aBefore.opened, 1, 'the app that took the session counts it')
  t.equal(aAfter.statusOpened - aBefore.statusOpened, 1, '... on its status page too')
  t.equal(aAfter.refused - aBefore.refused, 1, 'and the refusal')
  t.equal(aAfter.httpOk - aBefore.httpOk, 1, 'and the publish')
  t.equal(aAfter.authAccepted - aBefore.authAccepted, 1, 'and the upgrade\'s authentication time')
  t.equal(aAfter.statusPublishes - aBefore.statusPublishes, 1)
  t.same(await figures(b), bBefore, 'the other app\'s figures did not move')
})

test('the separate publish listener counts into the app whose broker it publishes through', async (t) => {
  const loaded = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8080', ORO_WEBSOCKET_PUBLISH_LISTEN: '127.0.0.1:8081', ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml' }, cwd: process.cwd() })
  const options = { loaded, mode: 'dev' as const, logger: createLogger({ mode: 'dev', level: 'warn', pretty: false, destination: new Writable({ write (_chunk, _encoding, done) { done() } }) }) }
  const main = await buildApp(options)
  t.teardown(() => main.close())
  const publish = await buildPublishApp(main, options)
  t.teardown(() => publish.close())
  await publish.listen({ host: '127.0.0.1', port: 0 })
  const address = publish.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/publish`
  const post = (key: string): Promise<Response> => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'news', data: 1 }) })
  t.equal((await post(KEY)).status, 202)
  t.equal((await post('wrong')).status, 401)
  t.same({ ...main.stats.httpPublishOutcomes }, { ok: 1, unauthorized: 1 }, 'answers by outcome, refusals included')
  t.equal(main.stats.publishesReceived, 1)
})
