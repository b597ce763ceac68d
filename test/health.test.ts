import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { freePort, startGateway } from './helpers/spawn-gateway.js'

test('healthz, readyz, metrics, 404 and 426 answers', async (t) => {
  const { app, url, wsUrl } = await startApp(t)
  t.same(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' })
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ready', checks: { server: 'ok', broker: 'ok' } })

  const c = await connectWamp(wsUrl)
  t.teardown(() => c.close())
  c.subscribe('a')
  await c.sync()
  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.match(metrics, /^oro_ws_sessions 1$/m)
  t.match(metrics, /^oro_ws_topics 1$/m)
  t.match(metrics, /^# TYPE oro_ws_connections_opened_total counter$/m)

  const missing = await fetch(`${url}/nope?x=1`, { method: 'POST' })
  t.equal(missing.status, 404)
  t.same(await missing.json(), { code: 'GW_ERR_NOT_FOUND', message: 'No route POST /nope; see GET /openapi.json for the HTTP API, or connect a WebSocket client to upgrade' })
  const unknownGet = await fetch(`${url}/some/page`)
  t.equal(unknownGet.status, 404)
  t.match(await unknownGet.json(), { code: 'GW_ERR_NOT_FOUND' })
  for (const path of ['/', '/ws']) {
    const plain = await fetch(url + path)
    t.equal(plain.status, 426, `GET ${path} without upgrade`)
    t.match(await plain.json(), { code: 'GW_ERR_UPGRADE_REQUIRED' })
  }

  // Draining: readiness turns 503 at once, health stays 200, upgrades are refused with 503.
  app.readiness.markDraining()
  const draining = await fetch(`${url}/readyz`)
  t.equal(draining.status, 503)
  t.same(await draining.json(), { status: 'unavailable', checks: { server: 'draining', broker: 'ok' } })
  t.equal((await fetch(`${url}/healthz`)).status, 200)
  await t.rejects(connectWamp(wsUrl), { message: /^HTTP 503: .*GW_ERR_SHUTTING_DOWN/ })
  const closed = await c.closed
  t.equal(closed.clean, false, 'open sessions were dropped without a close frame (they reconnect)')
})

test('ORO_WEBSOCKET_PUBLISH_LISTEN: its own /readyz, the main listener\'s readiness (what the Oro bundle\'s isConnected() asks)', async (t) => {
  const publishPort = await freePort()
  const gw = await startGateway({ args: ['--env=dev'], env: { ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:${publishPort}` } }, t)
  const main = await fetch(`${gw.url}/readyz`)
  const separate = await fetch(`http://127.0.0.1:${publishPort}/readyz`)
  t.equal(separate.status, 200)
  t.same(await separate.json(), await main.json(), 'the same report as the main listener')
  t.same(await (await fetch(`http://127.0.0.1:${publishPort}/healthz`)).json(), { status: 'ok' })
  await gw.stop('SIGTERM')
})
