// Issue 17: resources per identity are bounded. One ordinary user opened 800 sessions × 256
// subscriptions to oro/email_event/1/<490 digits> and made 202,330 topics: sessions per user,
// subscriptions per user, distinct topics per node and the length of placeholder values are capped.
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'
import { compileRule } from '../src/topics/compile.js'

const postgres = await needsPostgres()
const SECRET = 'user-limits-secret'
const alice = USERS.find((u) => u.username === 'alice') as (typeof USERS)[number]
const aliceTicket = (): string => encodeURIComponent(makeTicket({ secret: SECRET, username: 'alice', password: alice.password }))
const browser = { 'X-Forwarded-For': '198.51.100.7' }

test('sessions per user: the third of alice\'s pages gets 429 GW_ERR_USER_SESSIONS; one closed makes room', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_MAX_SESSIONS_PER_USER: '2' }, 'prod', 'warn')
  const one = await connectWamp(`${gw.wsUrl}/?ticket=${aliceTicket()}`, { headers: browser })
  const two = await connectWamp(`${gw.wsUrl}/?ticket=${aliceTicket()}`, { headers: browser })
  const third = await rawUpgrade(gw.port, `/?ticket=${aliceTicket()}`, { Origin: 'http://localhost', ...browser })
  t.equal(third.status, 429)
  t.match(JSON.parse(third.body), { code: 'GW_ERR_USER_SESSIONS', message: /ORO_WEBSOCKET_MAX_SESSIONS_PER_USER/ })
  const anonymous = await connectWamp(`${gw.wsUrl}/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { headers: browser })
  t.teardown(() => { two.close(); anonymous.close() })
  one.close()
  await one.closed
  while (gw.app.userQuota.sessions({ anonymous: false, userId: alice.id, username: 'alice' }) > 1) await new Promise((resolve) => setTimeout(resolve, 10))
  const again = await connectWamp(`${gw.wsUrl}/?ticket=${aliceTicket()}`, { headers: browser })
  t.ok(again.sessionId, 'room again once a page closed')
  again.close()
})

test('subscriptions per user over all its sessions, and distinct topics per node', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, {
    ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_MAX_SUBSCRIPTIONS_PER_USER: '3', ORO_WEBSOCKET_MAX_TOPICS: '5'
  }, 'prod', 'warn')
  const a = await connectWamp(`${gw.wsUrl}/?ticket=${aliceTicket()}`, { headers: browser })
  const b = await connectWamp(`${gw.wsUrl}/?ticket=${aliceTicket()}`, { headers: browser })
  t.teardown(() => { a.close(); b.close() })
  a.subscribe('t1'); a.subscribe('t2'); b.subscribe('t3'); b.subscribe('t4')
  await a.sync(); await b.sync()
  const count = (id: string): number => [...gw.app.sessions].find((s) => s.id === id)?.subscriptionCount ?? -1
  t.same([count(a.sessionId), count(b.sessionId)], [2, 1], 'the fourth subscription of alice is refused (3 over all her sessions)')
  b.unsubscribe('t3')
  await b.sync()
  b.subscribe('t4')
  await b.sync()
  t.equal(count(b.sessionId), 1, 'an unsubscribe makes room')
  // Topics per node: anonymous sessions add topics until the node holds five.
  const anon = await connectWamp(`${gw.wsUrl}/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { headers: browser })
  t.teardown(() => anon.close())
  for (const topic of ['t1', 'n1', 'n2', 'n3', 'n4']) anon.subscribe(topic)
  await anon.sync()
  t.equal(gw.app.hub.topicCount, 5)
  t.equal(count(anon.sessionId), 3, 'alice holds t1, t2, t4: t1 (existing), n1 and n2 taken; n3 would be the sixth topic')
})

test('placeholder values are short: ids at most 20 digits, other values 64 characters', async (t) => {
  const rule = compileRule({ topic: 'oro/email_event/{user_id}/{organization_id}', requirements: { user_id: { pattern: '\\d+' }, organization_id: { pattern: '\\d+', wildcard: true } }, policy: 'user' })
  const regex = rule.regex as RegExp
  t.ok(regex.test('oro/email_event/1/2'))
  t.ok(regex.test(`oro/email_event/1/${'9'.repeat(20)}`))
  t.ok(regex.test('oro/email_event/1/*'))
  t.notOk(regex.test(`oro/email_event/1/${'9'.repeat(21)}`), '21 digits')
  t.notOk(regex.test(`oro/email_event/1/${'9'.repeat(490)}`), 'the 490 digits of the attack')
  const open = compileRule({ topic: 'app/{name}/x', policy: 'public' }).regex as RegExp
  t.ok(open.test(`app/${'n'.repeat(64)}/x`))
  t.notOk(open.test(`app/${'n'.repeat(65)}/x`))
})
