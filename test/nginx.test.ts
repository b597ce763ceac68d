import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { nginxBinary, startNginx, type ProxyPassVariant } from './helpers/nginx.js'
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
