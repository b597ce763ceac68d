import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'
import { welcomeText } from '../src/wamp/welcome.js'

test('Oro\'s PHP backend client: one read gets 101 + WELCOME, then it publishes and never reads', async (t) => {
  const { wsUrl, port } = await startApp(t)
  const sub = await connectWamp(`${wsUrl}/ws`)
  t.teardown(() => sub.close())
  sub.subscribe('oro/data/update')
  sub.subscribe('oro/maintenance')
  await sub.sync()

  const php = await connectPhpBackend(port, { ticket: 'anonymous-ticket', userAgent: 'Oro backend' })
  t.teardown(() => php.close())
  const head = php.response.slice(0, php.response.indexOf('\r\n\r\n'))
  t.notMatch(head, /[[\]]/, 'no [ or ] in any response header')
  t.match(head, /\r\nSec-WebSocket-Protocol: wamp/i, 'wamp is echoed')
  t.match(php.sessionId, /^[A-Za-z0-9_-]{20,}$/)
  const frame = Buffer.from(php.response.slice(head.length + 4), 'latin1')
  t.equal(frame[0], 0x81, 'the WELCOME frame follows the headers in the same read')
  t.not(frame[1], 91, 'its payload length byte is not "["')

  php.publish('oro/data/update', [{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }])
  php.publish('oro/maintenance', { isOn: true, userId: null })
  php.publish('oro/data/update', [])
  const events = await sub.waitForEvents(3)
  t.same(events, [[{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }], { isOn: true, userId: null }, []])
})

test('the backend client connecting on the frontend path and any path works too', async (t) => {
  const { port } = await startApp(t)
  for (const path of ['', 'ws', 'some/where']) {
    const php = await connectPhpBackend(port, { path })
    t.match(php.sessionId, /^[A-Za-z0-9_-]{20,}$/, `/${path}`)
    php.close()
  }
})

test('a WELCOME is never 91 or 93 bytes long', async (t) => {
  const ident = 'oro-websocket-gateway/0.1.0'
  for (let n = 1; n < 80; n++) {
    const text = welcomeText('a'.repeat(n), ident)
    const length = Buffer.byteLength(text)
    t.ok(length !== 91 && length !== 93, `session id of ${n} characters → ${length} bytes`)
    t.same(JSON.parse(text), [0, 'a'.repeat(n), 1, ident])
  }
})
