// SIGTERM to a real gateway (dist/cli.js serve): the WebSocket listener stops accepting before any
// session is dropped, so a page that reconnects the moment it is dropped is refused by the kernel
// (nginx tries the next node for free, a successor can bind the port), never answered 503 by the
// draining node; the separate publish and metrics listeners keep answering /healthz and /readyz
// (503, draining) through the drain delay, for probes and publishers.
import { test } from 'tap'
import { connect } from 'node:net'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { connectWamp } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'

const SECRET = 'test-secret'

/** A plain TCP connect: 'accepted', or the error's code (ECONNREFUSED: nothing listens). */
function tcpConnect (port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve('accepted') })
    socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
  })
}

test('SIGTERM: the WebSocket port refuses new connections before the sessions are dropped; the other listeners still answer', async (t) => {
  const publishPort = await freePort()
  const metricsPort = await freePort()
  // A drain delay far longer than the test needs: the listeners that stay open must not be
  // closing while it asks them (no timing is assumed), and the process is killed at the end.
  const gw = await startGateway({
    args: ['--env=prod', '--drain-delay', '60', '--shutdown-timeout', '90'],
    env: {
      ORO_SECRET: SECRET,
      ORO_WEBSOCKET_PUBLISH_KEYS: 'test-key',
      ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:${publishPort}`,
      ORO_WEBSOCKET_METRICS_LISTEN: `127.0.0.1:${metricsPort}`
    }
  }, t)
  // A browser's page, through the trusted loopback proxy (X-Forwarded-For), never a backend.
  const page = await connectWamp(`${gw.url.replace('http', 'ws')}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { headers: { 'X-Forwarded-For': '203.0.113.20' } })
  // The moment its connection drops, the page tries again (as wamp.js, or nginx for it, would).
  const retried = new Promise<string>((resolve) => { page.ws.once('close', () => { resolve(tcpConnect(gw.port)) }) })

  gw.child.kill('SIGTERM')
  t.same(await page.closed, { code: 1006, reason: '', clean: false }, 'the session was dropped without a close frame (Oro reconnects)')
  t.equal(await retried, 'ECONNREFUSED', 'a connection opened after the drop is refused by the kernel, not answered 503 by the draining node')

  for (const [name, port] of [['publish', publishPort], ['metrics', metricsPort]] as const) {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    t.equal(health.status, 200, `${name} listener: /healthz still answers during the drain`)
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
    t.equal(ready.status, 503, `${name} listener: /readyz answers 503 during the drain`)
    t.match(await ready.json(), { status: 'unavailable', checks: { server: 'draining' } }, `${name} listener: /readyz says why`)
  }
  t.equal((await gw.stop('SIGKILL')).signal, 'SIGKILL')
})
