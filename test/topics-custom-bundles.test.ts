import { test } from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'
import { loadTopicRules } from '../src/topics/index.js'
import { cli } from './helpers/spawn-gateway.js'

// Issue 16 §4: a custom bundle's per-user topic was public (every unknown callback was), and the
// application's config/oro/websocket_routing/ was never read. The policy now comes from the class
// of the topic service the route's callback names (the bundles' services*.yml), and a route whose
// class the gateway cannot know is closed to browsers (fail closed) with one warning at start.
const APP = join('test', 'fixtures', 'custom-topics-app')
const SECRET = 'ThisTokenIsNotSoSecretChangeIt'

function ticketFor (name?: string): string {
  const user = USERS.find((u) => u.username === name)
  return makeTicket({ secret: SECRET, ...(user === undefined ? {} : { username: user.username, password: user.password }) })
}

test('the fixture application\'s routes and where each policy comes from', async (t) => {
  const { loaded, warnings } = loadTopicRules({ cwd: process.cwd(), appRoot: APP })
  const route = (topic: string): Record<string, unknown> | undefined => loaded.find((l) => l.topic === topic) as Record<string, unknown> | undefined
  t.match(route('acme/inbox/{user_id}'), {
    policy: 'user', route: 'acme_inbox.message', callback: 'acme_inbox.message', handlerClass: 'Oro\\Bundle\\SyncBundle\\Topic\\SecuredTopic',
    source: join('vendor/acme/inbox-bundle/src/Acme/Bundle/InboxBundle/Resources/config/oro/websocket_routing.yml'),
    policyFrom: /class Oro\\Bundle\\SyncBundle\\Topic\\SecuredTopic \(service acme_inbox\.topic\.message in vendor\/acme\/inbox-bundle\/.+\/services\.yml\)/
  })
  t.match(route('acme/live/{board_id}'), { policy: 'unknown', handlerClass: 'Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic', policyFrom: /class Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic \(service acme_live\.topic\.board in .+services\.yml\), which the gateway does not know/ })
  t.match(route('acme/announcements'), {
    policy: 'public', source: join('config/oro/websocket_routing/announcements.yml'), handlerClass: 'Oro\\Bundle\\SyncBundle\\Topic\\BroadcastTopic'
  }, 'the application-level folder is read; the class named through a parameter is resolved')
  t.match(route('oro/email_event/{user_id}/{organization_id}'), { policy: 'user', source: 'defaults' })
  t.match(route('oro/ping'), { policy: 'ping', replaces: 'defaults', handlerClass: 'Oro\\Bundle\\SyncBundle\\Topic\\WebsocketPingTopic' }, "Oro's own bundles read the same way")
  t.match(route('oro/maintenance'), { policy: 'public', handlerClass: 'Oro\\Bundle\\SyncBundle\\Topic\\BroadcastTopic' })
  t.match(route('oro/imap_sync_fail/{user_id}'), { policy: 'user-or-wildcard', handlerClass: 'Oro\\Bundle\\ImapBundle\\Topic\\SyncFailTopic' })
  t.equal(warnings.length, 1, 'one warning: the route whose class is unknown')
  t.match(warnings[0]?.message, /acme_live\.board .*acme\/live\/\{board_id\}.*callback acme_live\.board.*class Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic.*policy: key/)
  t.match(warnings[0]?.message, /ORO_WEBSOCKET_TOPICS file, e\.g\. acme_live\.board: \{ channel: 'acme\/live\/\{board_id\}', handler: \{ callback: 'acme_live\.board' \}, requirements: \{"board_id":\{"pattern":"\\\\d\+"\}\}, policy: public \}$/)
  // What the warning suggests is a valid rule: written to a topics file, it opens the route.
  const suggested = /e\.g\. (.+)$/.exec(warnings[0]?.message ?? '')?.[1] ?? ''
  const dir = mkdtempSync(join(tmpdir(), 'gw-suggested-'))
  writeFileSync(join(dir, 'topics.yml'), suggested + '\n')
  const fixed = loadTopicRules({ cwd: process.cwd(), appRoot: APP, topicsFile: join(dir, 'topics.yml') })
  t.match(fixed.loaded.find((l) => l.topic === 'acme/live/{board_id}'), { policy: 'public', policyFrom: /^policy: in / })
  t.equal(fixed.warnings.length, 0, 'no warning left')
})

test('over real sockets: the custom per-user topic reaches only its user; the unknown-class route is refused to browsers', await needsPostgres(), async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_TOPICS: '' }, 'prod', 'info', { appRoot: APP })
  // Browsers come through the trusted proxy (loopback) from outside the backend networks.
  const browser = async (name?: string): Promise<WampClient> =>
    await connectWamp(`${gw.wsUrl}/ws?ticket=${encodeURIComponent(ticketFor(name))}`, { headers: { 'X-Forwarded-For': '203.0.113.20' } })
  const alice = await browser('alice') // user 7
  const bob = await browser('bob') // user 8
  const anonymous = await browser()
  const clients = [alice, bob, anonymous]
  t.teardown(() => { for (const c of clients) c.close() })
  for (const c of clients) {
    for (const topic of ['acme/inbox/7', 'acme/live/1', 'acme/announcements']) c.subscribe(topic)
    await c.sync()
  }

  const backend = await connectWamp(`${gw.wsUrl}/?ticket=${encodeURIComponent(ticketFor())}`, { headers: { Origin: '127.0.0.1' } })
  t.teardown(() => backend.close())
  backend.publish('acme/inbox/7', { unread: 3 })
  backend.publish('acme/live/1', { moved: 'card-9' })
  backend.publish('acme/announcements', 'maintenance at noon')
  await backend.sync()
  t.equal(backend.frames.filter((f) => f[0] !== 4).length, 0, 'the backend may publish to every route, the unknown one included (nothing sent back)')

  for (const c of clients) await c.waitForEvents(1, 'acme/announcements')
  const topicsOf = (c: WampClient): string[] => c.frames.filter((f) => f[0] === 8).map((f) => f[1] as string)
  t.same(topicsOf(alice), ['acme/inbox/7', 'acme/announcements'], 'user 7 gets its own inbox and the announcement')
  t.same(topicsOf(bob), ['acme/announcements'], 'user 8 does not get user 7\'s inbox')
  t.same(topicsOf(anonymous), ['acme/announcements'], 'nor does an anonymous page')

  const refused = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('subscription refused'))
  t.ok(refused.some((l) => l.reason === 'unknown-policy' && l.topic === 'acme/live/1'), 'the unknown-class route is refused, with its reason')
  t.ok(refused.some((l) => l.reason === 'other-user' && l.topic === 'acme/inbox/7'))
  const warned = gw.logs.filter((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.includes('acme_live.board'))
  t.equal(warned.length, 1, 'warned once at start')
  t.match(warned[0], { route: 'acme_live.board', callback: 'acme_live.board', class: 'Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic' })
})

test('config lists every route with its policy and where it came from', async (t) => {
  const text = await cli(['config', '--env=dev', '--app-root', APP], {})
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /\n {2}acme\/inbox\/\{user_id\} +user +vendor\/acme\/inbox-bundle\/.+websocket_routing\.yml: class Oro\\Bundle\\SyncBundle\\Topic\\SecuredTopic/)
  t.match(text.stdout, /\n {2}acme\/live\/\{board_id\} +unknown \(closed to browsers\) +src\/Acme\/Bundle\/LiveBundle\/.+: class Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic/)
  t.match(text.stdout, /\n {2}acme\/announcements +public +config\/oro\/websocket_routing\/announcements\.yml/)
  t.match(text.stdout, /\n {2}oro\/ping +ping +vendor\/oro\/platform\/src\/Oro\/Bundle\/SyncBundle\/.+ \(replaces defaults\): class Oro\\Bundle\\SyncBundle\\Topic\\WebsocketPingTopic/)
  t.match(text.stdout, /\n {2}oro\/data\/update +public +defaults: Oro's callback oro_sync\.data_update/)
  const json = JSON.parse((await cli(['config', '--env=dev', '--json', '--app-root', APP], {})).stdout) as { topics: Array<Record<string, unknown>> }
  t.match(json.topics.find((r) => r.topic === 'acme/live/{board_id}'), { policy: 'unknown', route: 'acme_live.board', callback: 'acme_live.board', handlerClass: 'Acme\\Bundle\\LiveBundle\\Topic\\BoardTopic' })
})

test('a reload that closes a route ends its subscriptions; the sessions stay open', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gw-reload-app-'))
  const dir = join(root, 'config', 'oro', 'websocket_routing')
  mkdirSync(dir, { recursive: true })
  const route = (policy: string): string => `acme.feed:\n    channel: 'acme/feed'\n    handler:\n        callback: 'acme.feed'\n${policy}`
  writeFileSync(join(dir, 'feed.yml'), route('    policy: public\n'))
  const gw = await startApp(t, { ORO_WEBSOCKET_TOPICS: '' }, 'dev', 'info', { appRoot: root })
  const page = await connectWamp(`${gw.wsUrl}/ws`, { headers: { 'X-Forwarded-For': '203.0.113.21' } })
  t.teardown(() => page.close())
  page.subscribe('acme/feed')
  page.subscribe('oro/data/update')
  await page.sync()

  // The policy: key taken out: the route's handler is unknown again, so browsers are refused.
  writeFileSync(join(dir, 'feed.yml'), route(''))
  t.same(gw.app.reloadTopics('test'), { ok: true, changed: 1, revoked: 1 })
  const backend = await connectWamp(`${gw.wsUrl}/ws`)
  t.teardown(() => backend.close())
  backend.publish('acme/feed', 'not for browsers')
  backend.publish('oro/data/update', [])
  await page.waitForEvents(1, 'oro/data/update')
  t.same(page.events('acme/feed'), [], 'the ended subscription gets nothing')
  t.equal(page.ws.readyState, WebSocket.OPEN, 'the session stays')
  t.ok(gw.logs.some((l) => l.reason === 'unknown-policy' && typeof l.msg === 'string' && l.msg.includes('subscription ended')))

  writeFileSync(join(dir, 'feed.yml'), 'acme.feed: [oops')
  t.same(gw.app.reloadTopics('test'), { ok: false, changed: 0, revoked: 0 }, 'a broken file keeps the rules in effect')
  t.ok(gw.logs.some((l) => l.level === 'error' && typeof l.msg === 'string' && l.msg.startsWith('topic rules not reloaded (test)')))
})

test('Oro\'s own callback handled by another of Oro\'s classes keeps its policy; another vendor\'s class overriding it is unknown', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gw-oro-class-'))
  const write = (file: string, text: string): void => { mkdirSync(join(root, file, '..'), { recursive: true }); writeFileSync(join(root, file), text) }
  const bundle = 'vendor/oro/platform/src/Oro/Bundle/MessageQueueBundle/Resources/config'
  write(`${bundle}/oro/websocket_routing.yml`, "oro_message_queue.message_queue_heartbeat:\n    channel: 'oro/message_queue_heartbeat'\n    handler:\n        callback: 'oro_message_queue.message_queue_heartbeat'\n")
  write(`${bundle}/services.yml`, "services:\n    oro_message_queue.topic.message_queue_heartbeat:\n        class: Oro\\Bundle\\MessageQueueBundle\\Topic\\HeartbeatTopic\n        arguments: ['oro_message_queue.message_queue_heartbeat']\n        tags: [{ name: gos_web_socket.topic }]\n")
  let { loaded } = loadTopicRules({ cwd: root, appRoot: '.' })
  t.match(loaded.find((l) => l.topic === 'oro/message_queue_heartbeat'), { policy: 'public', policyFrom: /Oro's callback oro_message_queue\.message_queue_heartbeat \(class Oro\\Bundle\\MessageQueueBundle/ })
  // An application replacing Oro's service with its own class: the gateway cannot know that class.
  write('src/Acme/Bundle/AppBundle/Resources/config/services.yml', "services:\n    acme.heartbeat:\n        class: Acme\\Bundle\\AppBundle\\Topic\\Heartbeat\n        arguments: { $topicName: 'oro_message_queue.message_queue_heartbeat' }\n        tags: [gos_web_socket.topic]\n")
  ;({ loaded } = loadTopicRules({ cwd: root, appRoot: '.' }))
  t.match(loaded.find((l) => l.topic === 'oro/message_queue_heartbeat'), { policy: 'unknown', handlerClass: 'Acme\\Bundle\\AppBundle\\Topic\\Heartbeat' }, 'named argument and short tag form read too')
})
