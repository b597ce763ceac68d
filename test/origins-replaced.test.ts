// ORO_WEBSOCKET_ALLOWED_ORIGINS without "+" replaces the list, yet localhost and 127.0.0.1 stay
// allowed, as on Oro's own server (oro-compat §7): Oro's PHP backend sends `Origin: 127.0.0.1`,
// and refusing it loses every publish (and Oro's check_ws() then turns WebSockets off).
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'
import { makeTicket } from './helpers/tickets.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { originPolicyFromSetting } from '../src/access/origin.js'

const SECRET = 'replaced-origins-secret'

test('Oro\'s backend (Origin: 127.0.0.1) publishes under a replaced list, and a page of the listed host receives it', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com' }, 'prod', 'notice')
  // The page comes through the site's proxy (loopback is trusted): X-Forwarded-For names the browser.
  const page = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`,
    { headers: { Origin: 'https://shop.example.com', 'X-Forwarded-For': '203.0.113.20' } })
  t.teardown(() => page.close())
  page.subscribe('oro/data/update')
  await page.sync()

  const php = await connectPhpBackend(gw.port, { ticket: makeTicket({ secret: SECRET }) })
  t.teardown(() => php.close())
  const tags = [{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }]
  php.publish('oro/data/update', tags)
  t.same(await page.waitForEvents(1, 'oro/data/update'), [tags], 'the page got the backend\'s publish')

  const other = await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { Origin: 'https://other.example.com' })
  other.destroy()
  t.equal(other.status, 403, 'a host not in the list is still refused')
  const line = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: '))
  t.match(line?.origins, ['localhost', '127.0.0.1', 'shop.example.com'], 'the start line lists what is allowed, loopback included')
})

test('the policy: a replaced list keeps localhost and 127.0.0.1, once each', async (t) => {
  const fixed = originPolicyFromSetting('shop.example.com, 127.0.0.1', 'ws.example.com')
  t.same(fixed.entries, ['localhost', '127.0.0.1', 'shop.example.com'])
  for (const origin of ['127.0.0.1', 'http://localhost:8080', 'https://127.0.0.1', 'https://shop.example.com']) t.ok(fixed.allows(origin), origin)
  for (const origin of ['https://ws.example.com', 'https://127.0.0.2', undefined]) t.notOk(fixed.allows(origin), String(origin))
  t.notOk(fixed.extendable, 'the database does not add to it')
})
