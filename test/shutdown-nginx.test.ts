// A node drains behind nginx with nginx's default proxy_next_upstream (`error timeout`, as in a
// site's own upstream block without the `http_503` that `oro-websocket-gateway nginx` adds): the
// draining node closes its listening socket before it drops its sessions, so the reconnects of
// the pages it dropped, which least_conn sends to the node that just emptied, are refused there
// and nginx takes them to the other node. Before, the draining node answered them 503, which
// nginx's default passes to the page (a failed connect: a minute on released Oro).
import { test } from 'tap'
import { nginxBinary } from './helpers/nginx.js'
import { serviceOptions } from './helpers/services.js'
import { runNginx } from './helpers/nginx-run.js'
import { cli, freePort, startGateway, type Gateway } from './helpers/spawn-gateway.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'

const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')
const SECRET = 'test-secret'
// The pages are played by loopback addresses other than 127.0.0.1 (nginx forwards them in
// X-Real-IP and X-Forwarded-For): keep them out of the backend networks, so they count as browsers.
const ENV = { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' }

test('a node drains behind nginx (default proxy_next_upstream): its pages reconnect to the other node, none is refused', needsNginx, async (t) => {
  // A drain delay far longer than the test: the draining node is still running (its other
  // listeners open) while the pages reconnect, as in a real drain; no timing is assumed.
  const draining = await startGateway({ args: ['--env=prod', '--drain-delay', '60', '--shutdown-timeout', '90'], env: ENV }, t)
  const other = await startGateway({ args: ['--env=prod'], env: ENV }, t)
  const nginxPort = await freePort()
  const printed = await cli(['nginx', '--upstream', '2'], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${draining.port}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${nginxPort}/ws` })
  t.equal(printed.code, 0, printed.stderr)
  // The second node's real port, and nginx's default proxy_next_upstream (the line removed).
  const text = printed.stdout
    .replace(`server 127.0.0.1:${draining.port + 1} `, `server 127.0.0.1:${other.port} `)
    .replace(/^\s*proxy_next_upstream .*$/m, '')
  t.notMatch(text, /proxy_next_upstream /, 'nginx\'s default: error timeout')
  t.match(await runNginx(t, text, nginxPort), /test is successful/)

  const page = async (n: number): Promise<WampClient> => await connectWamp(`ws://127.0.0.1:${nginxPort}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { localAddress: `127.0.3.${n}` })
  // least_conn: one page on each node.
  const first = await Promise.all([page(1), page(2)])
  t.teardown(() => { for (const p of first) p.close() })
  const sessions = async (gw: Gateway): Promise<number> => Number(/^oro_ws_sessions(?:\{[^}]*\})? (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? NaN)
  t.same([await sessions(draining), await sessions(other)], [1, 1], 'one page on each node')

  draining.child.kill('SIGTERM')
  const dropped = await Promise.race(first.map(async (p, i) => { await p.closed; return i }))
  t.same(await first[dropped]?.closed, { code: 1006, reason: '', clean: false }, 'the draining node dropped its page without a close frame')

  // The dropped page and a few more reconnect now, one after the other: least_conn sends each
  // first to the node that just emptied; every one must end on the other node.
  const refused: string[] = []
  const back: WampClient[] = []
  t.teardown(() => { for (const p of back) p.close() })
  for (let n = 10; n < 14; n++) {
    try {
      back.push(await page(n))
    } catch (err) {
      refused.push((err as Error).message)
    }
  }
  t.same(refused, [], 'no reconnect was refused')
  t.equal(await sessions(other), 1 + back.length, 'every reconnect is on the other node')
  t.equal((await draining.stop('SIGKILL')).signal, 'SIGKILL')
})
