import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { BLOCK_SUBPATHS, nginxBinary, startNginx, type ProxyPassVariant } from './helpers/nginx.js'
import { readFileSync } from 'node:fs'
import { serviceOptions } from './helpers/services.js'

const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')

for (const variant of ['slash', 'is_args'] as ProxyPassVariant[]) {
  test(`through nginx (Oro's location /ws block, proxy_pass ${variant === 'slash' ? '.../' : '.../$is_args$args'})`, needsNginx, async (t) => {
    const { wsUrl, port } = await startApp(t)
    const nginxPort = await startNginx(t, port, variant)
    const browser = await connectWamp(`ws://127.0.0.1:${nginxPort}/ws?ticket=x`)
    const publisher = await connectWamp(`${wsUrl}/`)
    t.teardown(() => { browser.close(); publisher.close() })
    t.equal(browser.protocol, 'wamp', 'the subprotocol survives the proxy')
    browser.subscribe('oro/data/update')
    await browser.sync()
    publisher.publish('oro/data/update', [{ username: null, tagname: 'X' }])
    t.same(await browser.waitForEvents(1), [[{ username: null, tagname: 'X' }]])
  })
}

test('the older proxy_pass form exposes the HTTP routes below /ws; the README\'s block closes them', needsNginx, async (t) => {
  const { port } = await startApp(t, { ORO_WEBSOCKET_PUBLISH_KEYS: 'k' })
  const open = await startNginx(t, port, 'slash')
  // `location /ws` + `proxy_pass .../` replaces the /ws prefix by /: /wspublish becomes /publish
  // (and /ws/publish becomes //publish, which no route matches).
  const exposed = await fetch(`http://127.0.0.1:${open}/wspublish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(exposed.status, 401, 'without the block, POST /wspublish reaches the publish route')
  t.equal((await fetch(`http://127.0.0.1:${open}/wsmetrics`)).status, 200, 'and /wsmetrics the metrics')
  t.equal((await fetch(`http://127.0.0.1:${open}/ws/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404)

  const closed = await startNginx(t, port, 'slash', true)
  for (const path of ['/wspublish', '/wsmetrics', '/ws/publish', '/wsopenapi.json']) {
    t.equal((await fetch(`http://127.0.0.1:${closed}${path}`, { method: 'POST', body: '{}' })).status, 404, `${path} is closed`)
  }
  const browser = await connectWamp(`ws://127.0.0.1:${closed}/ws?ticket=x`)
  browser.close()
  t.pass('/ws itself still upgrades')
  t.ok(readFileSync(new URL('../README.md', import.meta.url), 'utf8').includes(BLOCK_SUBPATHS), 'the README shows this block')
})
