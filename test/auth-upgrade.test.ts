import { test } from 'tap'
import WebSocket from 'ws'
import { startApp, type TestApp } from './helpers/app.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'
import { makeTicket, phpDate } from './helpers/tickets.js'
import { createMysqlUsers, createPgUsers, needsMysql, needsPostgres, startTcpProxy, USERS } from './helpers/databases.js'
import { nginxBinary, startNginx } from './helpers/nginx.js'
import { serviceOptions } from './helpers/services.js'

const SECRET = 'ThisTokenIsNotSoSecretChangeIt'
const user = (name: string): { username: string, password: string } => {
  const found = USERS.find((u) => u.username === name)
  if (found === undefined) throw new Error(name)
  return { username: found.username, password: found.password }
}
const ticketFor = (name?: string, created?: Date): string =>
  makeTicket({ secret: SECRET, ...(name === undefined ? {} : user(name)), ...(created === undefined ? {} : { created }) })

async function gateway (t: { teardown (fn: () => unknown): void }, url: string, table: string, env: Record<string, string> = {}): Promise<TestApp> {
  return startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_TOPICS: '', ...env }, 'prod', 'info')
}

function refusal (promise: Promise<unknown>): Promise<{ statusCode: number, body: string, headers: Record<string, string> }> {
  return promise.then(() => { throw new Error('the upgrade was accepted') }, (err: { statusCode: number, body: string, headers: Record<string, string> }) => err)
}

const PRIVATE_AND_PUBLIC = ['oro/email_event/7/1', 'oro/email_event/7/*', 'oro/reminder_remind/7', 'oro/email_event/8/1', 'oro/reminder_remind/8', 'oro/data/update', 'oro/imap_sync_fail/*', 'oro/imap_sync_fail/7']

/** Subscribes to every topic, has a backend publish one event on each, returns the topics received. */
async function received (gw: TestApp, client: WampClient): Promise<string[]> {
  for (const topic of PRIVATE_AND_PUBLIC) client.subscribe(topic)
  await client.sync()
  const backend = await connectWamp(`${gw.wsUrl}/?ticket=${encodeURIComponent(ticketFor())}`, { headers: { Origin: '127.0.0.1' } })
  for (const topic of PRIVATE_AND_PUBLIC) backend.publish(topic, topic.startsWith('oro/email_event') ? { hasNewEmail: true } : [])
  backend.publish('oro/data/update', 'last')
  await client.waitForEvents(1, 'oro/data/update').then(async () => client.waitForEvents(2, 'oro/data/update'))
  backend.close()
  return client.frames.filter((f) => f[0] === 8).map((f) => f[1] as string).filter((topic, i, all) => all.indexOf(topic) === i)
}

test('PostgreSQL: user and anonymous tickets, private topics', await needsPostgres(), async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await gateway(t, url, table)

  const alice = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('alice'))}`)
  const anonymous = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`)
  const byEmail = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, username: 'Dave.Smith@example.com', password: user('dave').password }))}`)
  t.teardown(() => { alice.close(); anonymous.close(); byEmail.close() })
  t.same(await received(gw, alice), ['oro/email_event/7/1', 'oro/email_event/7/*', 'oro/reminder_remind/7', 'oro/data/update', 'oro/imap_sync_fail/*', 'oro/imap_sync_fail/7'],
    'user 7 gets its own private topics, not user 8\'s')
  t.same(await received(gw, anonymous), ['oro/data/update', 'oro/imap_sync_fail/*'], 'anonymous sessions get only the public ones')
  t.ok(byEmail.sessionId.length > 0, 'a login by e-mail (case-insensitive) works')
  const refused = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('subscription refused'))
  t.ok(refused.some((l) => l.reason === 'other-user' && l.level === 'notice'), 'refusals are logged at notice with the reason')
  t.ok(refused.some((l) => l.reason === 'anonymous'))
})

test('every rejection before the upgrade: a status, a code, a log line without the ticket', await needsPostgres(), async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await gateway(t, url, table)
  const old = new Date(Date.now() - 400_000)
  const future = new Date(Date.now() + 120_000)
  const cases: Array<[string, number, string]> = [
    ['', 401, 'GW_ERR_TICKET_MISSING'],
    ['?ticket=', 401, 'GW_ERR_TICKET_MISSING'],
    ['?ticket=%%%garbage', 401, 'GW_ERR_TICKET_MALFORMED'],
    [`?ticket=${Buffer.from('a;b').toString('base64')}`, 401, 'GW_ERR_TICKET_MALFORMED'],
    [`?ticket=${encodeURIComponent(ticketFor('alice', old))}`, 401, 'GW_ERR_TICKET_EXPIRED'],
    [`?ticket=${encodeURIComponent(ticketFor('alice', future))}`, 401, 'GW_ERR_TICKET_FUTURE'],
    [`?ticket=${encodeURIComponent(makeTicket({ secret: 'another secret' }))}`, 401, 'GW_ERR_TICKET_INVALID'],
    [`?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, username: 'alice', password: 'not her hash' }))}`, 401, 'GW_ERR_TICKET_INVALID'],
    [`?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, username: 'nobody', password: 'x' }))}`, 401, 'GW_ERR_USER_UNKNOWN'],
    [`?ticket=${encodeURIComponent(ticketFor('carol'))}`, 401, 'GW_ERR_USER_DISABLED']
  ]
  for (const [query, status, code] of cases) {
    const err = await refusal(connectWamp(`${gw.wsUrl}/ws${query}`))
    t.equal(err.statusCode, status, `${code}: status`)
    t.equal((JSON.parse(err.body) as { code: string }).code, code, code)
  }
  const failures = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Authentication failed: '))
  t.same(failures.map((l) => l.code), [...new Set(cases.map((c) => c[2]))], 'each kind is logged as "Authentication failed: <reason>", once a minute per network')
  t.ok(failures.every((l) => l.level === 'info'))
  const text = JSON.stringify(gw.logs)
  t.notOk(text.includes(ticketFor('alice', old).slice(0, 40)), 'no ticket in the log')
  t.ok(phpDate(new Date()).length > 0)

  // Origin: missing or not allowed → 403 before the ticket is even looked at.
  const noOrigin = await refusal(new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`, ['wamp'])
    ws.on('open', resolve)
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => reject(Object.assign(new Error('refused'), { statusCode: res.statusCode, body })))
    })
  }))
  t.equal(noOrigin.statusCode, 403)
  t.match(JSON.parse(noOrigin.body), { code: 'GW_ERR_ORIGIN_FORBIDDEN' })
  const evil = await refusal(connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`, { headers: { Origin: 'https://evil.example' } }))
  t.equal(evil.statusCode, 403)
  t.ok(gw.logs.some((l) => l.msg === 'Client rejected, bad origin' && l.level === 'warn' && l.origin === 'https://evil.example' &&
    l.setting === 'ORO_WEBSOCKET_ALLOWED_ORIGINS=+evil.example'), 'logged at warning with the origin and the setting that would allow it')
})

test('the database stopping gives 503 with Retry-After, not 401, and recovers without a restart', await needsPostgres(), async (t) => {
  const { url, table } = await createPgUsers(t)
  const target = new URL(url)
  const proxy = await startTcpProxy(Number(target.port || 5432), target.hostname)
  t.teardown(() => proxy.close())
  target.port = String(proxy.port)
  const gw = await gateway(t, target.toString(), table)

  const first = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('alice'))}`)
  t.teardown(() => first.close())
  await proxy.cut()
  const down = await refusal(connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('bob'))}`))
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '5')
  t.match(JSON.parse(down.body), { code: 'GW_ERR_DATABASE_UNAVAILABLE' })
  const ready = await fetch(`${gw.url}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { checks: { database: 'unreachable' } })
  t.equal(first.ws.readyState, WebSocket.OPEN, 'connected sessions are not touched')
  const anonymous = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`)
  anonymous.close()
  t.pass('anonymous tickets need no database')

  await proxy.restore()
  const back = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('bob'))}`)
  back.close()
  t.pass('back without a restart')
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200)
})

test('MariaDB: a user ticket verified against MySQL', await needsMysql(), async (t) => {
  const { url, table } = await createMysqlUsers(t)
  const gw = await gateway(t, url, table)
  const alice = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('alice'))}`)
  t.teardown(() => alice.close())
  t.same(await received(gw, alice), ['oro/email_event/7/1', 'oro/email_event/7/*', 'oro/reminder_remind/7', 'oro/data/update', 'oro/imap_sync_fail/*', 'oro/imap_sync_fail/7'])
  t.equal((await refusal(connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('carol'))}`))).statusCode, 401, 'a disabled user is refused')
})

test('only backend sessions publish: direct loopback with a ticket yes, a browser through nginx no', serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx'), async (t) => {
  // The browser connects to nginx from 127.0.0.5, outside the backend networks (as a browser on
  // another host would): nginx forwards that address. (A process on loopback through nginx is a
  // backend: see tls-nginx.test.ts.)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' }, 'prod', 'info')
  const nginxPort = await startNginx(t, gw.port, 'slash')
  const anon = encodeURIComponent(ticketFor())
  const sub = await connectWamp(`${gw.wsUrl}/ws?ticket=${anon}`)
  const browser = await connectWamp(`ws://127.0.0.1:${nginxPort}/ws?ticket=${anon}`, { localAddress: '127.0.0.5' })
  const forged = await connectWamp(`${gw.wsUrl}/ws?ticket=${anon}`, { headers: { 'X-Forwarded-For': '203.0.113.5' } })
  const php = await connectPhpBackend(gw.port, { ticket: ticketFor() })
  t.teardown(() => { sub.close(); browser.close(); forged.close(); php.close() })
  sub.subscribe('oro/data/update')
  await sub.sync()
  browser.publish('oro/data/update', 'from the browser')
  forged.publish('oro/data/update', 'with a forwarding header')
  await browser.sync(); await forged.sync()
  php.publish('oro/data/update', 'from the backend')
  t.same(await sub.waitForEvents(1), ['from the backend'])
  await sub.sync()
  t.same(sub.events(), ['from the backend'], 'nothing from the browser-like sessions')
  const refused = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('publish refused: only backend sessions may publish') && String(l.msg).includes('ORO_WEBSOCKET_BACKEND_NETWORKS'))
  t.equal(refused.length, 2)
  t.ok(refused.some((l) => l.address === '203.0.113.5'), 'the forged header names the client in the log (loopback is a trusted proxy)')
  t.ok(refused.every((l) => l.level === 'error' && l.first === true), 'the first from each address at error (issue 16: never silent at the default prod level)')
})

test('too many upgrades being verified at once: 503 GW_ERR_AUTH_BUSY with Retry-After, no endless queue', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_AUTH_QUEUE: '2' }, 'prod', 'info')
  const attempts = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
    connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, created: new Date(Date.now() - i * 1000) }))}`)))
  const accepted = attempts.filter((a) => a.status === 'fulfilled')
  const busy = attempts.flatMap((a) => a.status === 'rejected' ? [a.reason as { statusCode: number, body: string, headers: Record<string, string> }] : [])
  for (const a of accepted) (a as PromiseFulfilledResult<WampClient>).value.close()
  t.ok(accepted.length >= 2, `some were accepted (${accepted.length})`)
  t.ok(busy.length > 0, `the rest were shed (${busy.length})`)
  t.ok(busy.every((e) => e.statusCode === 503 && e.headers['retry-after'] === '2' && JSON.parse(e.body).code === 'GW_ERR_AUTH_BUSY'))
})

test('without ORO_DB_URL a user ticket is the gateway\'s problem (503), not the user\'s (401)', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'prod', 'info')
  const err = await refusal(connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor('alice'))}`))
  t.equal(err.statusCode, 503)
  t.match(JSON.parse(err.body), { code: 'GW_ERR_USERS_NOT_CONFIGURED', message: /ORO_DB_URL/ })
  const anonymous = await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`)
  anonymous.close()
  t.ok(gw.logs.some((l) => l.msg === 'ORO_DB_URL (or ORO_DB_DSN) is not set: only anonymous tickets can be verified; logged-in users are refused' && l.level === 'warn'), 'said at start')
})

// A drain that begins while a ticket is verified: test/upgrade.test.ts (the upgrade's decide step).

test('any forwarding header means proxied: X-Forwarded-Host or -Proto alone, Via, X-NginX-Proxy cannot publish', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'prod', 'info')
  const anon = encodeURIComponent(ticketFor())
  const sub = await connectWamp(`${gw.wsUrl}/ws?ticket=${anon}`)
  const forwarding: Array<Record<string, string>> = [
    { 'X-Forwarded-Host': 'shop.example.com' }, { 'X-Forwarded-Proto': 'https' }, { Via: '1.1 proxy' }, { 'X-NginX-Proxy': 'true' }
  ]
  // A ticket per connection, as Oro's pages fetch them (a ticket opens ORO_WEBSOCKET_SESSIONS_PER_TICKET sessions at most).
  const proxied = await Promise.all(forwarding.map(async (headers) => await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor())}`, { headers })))
  const backend = await connectWamp(`${gw.wsUrl}/ws?ticket=${anon}`, { headers: { Origin: '127.0.0.1' } })
  t.teardown(() => { sub.close(); backend.close(); for (const p of proxied) p.close() })
  sub.subscribe('oro/data/update')
  await sub.sync()
  for (const [i, p] of proxied.entries()) p.publish('oro/data/update', `proxied ${i}`)
  for (const p of proxied) await p.sync()
  backend.publish('oro/data/update', 'from the backend')
  t.same(await sub.waitForEvents(1), ['from the backend'])
  await sub.sync()
  t.same(sub.events(), ['from the backend'], 'nothing from the proxied sessions')
})
