// Where /metrics answers: with ORO_WEBSOCKET_METRICS_LISTEN only there (the WebSocket listener
// has none, even through the older nginx block); without it, the README's nginx block keeps it
// off the public path (/wsmetrics and /ws/metrics never reach the gateway).
import { test } from 'tap'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { BLOCK_SUBPATHS, nginxBinary, startNginx } from './helpers/nginx.js'
import { serviceOptions } from './helpers/services.js'
import { readFileSync } from 'node:fs'

const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')

test('ORO_WEBSOCKET_METRICS_LISTEN: /metrics on its own address, not on the WebSocket listener', needsNginx, async (t) => {
  const metricsPort = await freePort()
  const gw = await startGateway({ args: ['--env=dev'], env: { ORO_WEBSOCKET_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml' } }, t)
  const client = await connectWamp(`ws://127.0.0.1:${gw.port}/`)
  t.teardown(() => client.close())

  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(metrics.status, 200, 'the metrics listener answers')
  t.match(await metrics.text(), /^oro_ws_sessions 1$/m, 'with the main app\'s sessions')
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200, 'and its own /healthz')

  const onMain = await fetch(`${gw.url}/metrics`)
  t.equal(onMain.status, 404, 'the WebSocket listener has no /metrics')
  t.notMatch(await onMain.text(), /oro_ws_/)

  // Even the older proxy_pass form (which maps /wsmetrics to /metrics) finds nothing.
  const open = await startNginx(t, gw.port, 'slash')
  const proxied = await fetch(`http://127.0.0.1:${open}/wsmetrics`)
  t.equal(proxied.status, 404)
  t.notMatch(await proxied.text(), /oro_ws_/, 'no metric through nginx')
})

test('the README\'s nginx block: /wsmetrics and /ws/metrics do not reach the gateway', needsNginx, async (t) => {
  t.ok(readFileSync(new URL('../README.md', import.meta.url), 'utf8').includes(BLOCK_SUBPATHS), 'the README shows the block tested here')
  const gw = await startApp(t)
  t.equal((await fetch(`${gw.url}/metrics`)).status, 200, 'the gateway serves /metrics on its listener')
  // The gateway logs every request at debug (startApp's level): count the ones that reach it.
  const seen = (): number => gw.logs.filter((l) => l.msg === 'request').length
  await fetch(`${gw.url}/no-such-path`)
  t.ok(seen() > 0, 'a request to the gateway is logged')
  const before = seen()
  const nginxPort = await startNginx(t, gw.port, 'slash', true)
  for (const path of ['/wsmetrics', '/ws/metrics', '/wsstatus', '/ws/status']) {
    const response = await fetch(`http://127.0.0.1:${nginxPort}${path}`)
    t.equal(response.status, 404, `${path}: 404`)
    t.notMatch(await response.text(), /oro_ws_|GW_ERR_/, `${path}: nginx's own answer, not the gateway's`)
  }
  t.equal(seen(), before, 'the gateway saw none of them')
  const browser = await connectWamp(`ws://127.0.0.1:${nginxPort}/ws`)
  browser.close()
  t.pass('/ws itself still reaches the gateway')
})
