import { test } from 'tap'
import {
  authorizePublish, authorizeSubscribe, createTopicRouter, defaultRules, type SessionIdentity, type TopicRule
} from '../src/topics/index.js'

const router = createTopicRouter(defaultRules())
const user7: SessionIdentity = { anonymous: false, userId: 7 }
const anonymous: SessionIdentity = { anonymous: true }

// [topic, user 7, anonymous] → 'ok' or the refusal reason
const table: Array<[string, string, string]> = [
  ['oro/ping', 'ok', 'ok'],
  ['oro/data/update', 'ok', 'ok'],
  ['oro/maintenance', 'ok', 'ok'],
  ['oro/outdated_user_page', 'ok', 'ok'],
  ['oro/message_queue_heartbeat', 'ok', 'ok'],
  ['oro/email_event/7/1', 'ok', 'anonymous'],
  ['oro/email_event/7/*', 'ok', 'anonymous'], // organization wildcard
  ['oro/email_event/8/1', 'other-user', 'anonymous'],
  ['oro/email_event/*/1', 'no-route', 'no-route'], // user_id has no wildcard
  ['oro/email_event/7/x', 'no-route', 'no-route'],
  ['oro/email_event/7', 'no-route', 'no-route'],
  ['oro/email_event/7/1/2', 'no-route', 'no-route'],
  ['oro/reminder_remind/7', 'ok', 'anonymous'],
  ['oro/reminder_remind/8', 'other-user', 'anonymous'],
  ['oro/reminder_remind/007', 'ok', 'anonymous'], // Oro reads user_id with getInt()
  ['oro/attribute_import/7/12', 'ok', 'anonymous'],
  ['oro/attribute_import/8/12', 'other-user', 'anonymous'],
  ['oro/attribute_import/7/*', 'no-route', 'no-route'],
  ['oro/imap_sync_fail/7', 'ok', 'anonymous'],
  ['oro/imap_sync_fail/8', 'other-user', 'anonymous'],
  ['oro/imap_sync_fail/*', 'ok', 'ok'],
  ['oro/x', 'no-route', 'no-route'],
  ['oro/ping/', 'no-route', 'no-route'],
  ['oro/*', 'no-route', 'no-route'],
  ['*', 'no-route', 'no-route'],
  ['', 'no-route', 'no-route'],
  ['oro/data/updat.', 'no-route', 'no-route']
]

test('subscribe: every default topic, for user 7 and an anonymous session', async (t) => {
  for (const [topic, forUser, forAnonymous] of table) {
    const a = authorizeSubscribe(router, topic, user7)
    t.equal(a.ok ? 'ok' : a.reason, forUser, `user 7 → ${topic}`)
    const b = authorizeSubscribe(router, topic, anonymous)
    t.equal(b.ok ? 'ok' : b.reason, forAnonymous, `anonymous → ${topic}`)
  }
})

test('refusals carry a log line', async (t) => {
  t.same(authorizeSubscribe(router, 'oro/email_event/8/1', user7), {
    ok: false, reason: 'other-user', message: 'user 7 may not subscribe to oro/email_event/8/1'
  })
  t.same(authorizeSubscribe(router, 'oro/x', user7), { ok: false, reason: 'no-route', message: 'Unable to find route for oro/x' })
  t.match(authorizeSubscribe(router, 'oro/reminder_remind/7', anonymous), { reason: 'anonymous', message: /anonymous.*oro\/reminder_remind\/7/ })
  // A session that says it is not anonymous but has no user id is treated as anonymous.
  t.match(authorizeSubscribe(router, 'oro/reminder_remind/7', { anonymous: false }), { reason: 'anonymous' })
  // User id 0 is nobody in Oro (getInt of a non-number).
  t.match(authorizeSubscribe(router, 'oro/reminder_remind/0', { anonymous: false, userId: 0 }), { reason: 'other-user' })
})

test('match returns the rule and the placeholder values', async (t) => {
  const m = router.match('oro/email_event/7/*')
  t.equal(m?.rule.name, 'oro_email.event')
  t.same(m?.params, { user_id: '7', organization_id: '*' })
  t.same(router.match('oro/ping')?.params, {})
  t.equal(router.match('oro/nothing'), null)
  // Cached results are the same answers.
  t.same(router.match('oro/email_event/7/*'), m)
  t.equal(router.match('oro/nothing'), null)
})

test('publish: any routed topic, never the ping topic', async (t) => {
  for (const topic of ['oro/data/update', 'oro/email_event/8/1', 'oro/imap_sync_fail/*', 'oro/reminder_remind/9']) {
    t.match(authorizePublish(router, topic), { ok: true }, topic)
  }
  t.match(authorizePublish(router, 'oro/ping'), { ok: false, reason: 'server-only' })
  t.same(authorizePublish(router, 'oro/x'), { ok: false, reason: 'no-route', message: 'Unable to find route for oro/x' })
})

test('* in a rule topic is a literal, never a pattern', async (t) => {
  const r = createTopicRouter([
    { topic: 'acme/*', policy: 'public' },
    { topic: 'acme/{id}/feed', requirements: { id: { pattern: '[a-z]+' } }, policy: 'public' },
    { topic: 'acme/user/{user_id}', policy: 'user' }
  ])
  t.ok(r.match('acme/*'))
  t.equal(r.match('acme/anything'), null)
  t.ok(r.match('acme/abc/feed'))
  t.equal(r.match('acme/ABC/feed'), null, 'the pattern is anchored')
  t.equal(r.match('acme/abc/feedx'), null)
  // Without a pattern a placeholder takes one segment, and * is just a segment value.
  t.same(r.match('acme/user/*')?.params, { user_id: '*' })
  t.match(authorizeSubscribe(r, 'acme/user/*', user7), { reason: 'other-user' })
  t.equal(r.match('acme/user/7/8'), null)
})

test('user-or-wildcard lets * through even without wildcard: true', async (t) => {
  const r = createTopicRouter([{ topic: 'acme/sync/{user_id}', requirements: { user_id: { pattern: '\\d+' } }, policy: 'user-or-wildcard' }])
  t.match(authorizeSubscribe(r, 'acme/sync/*', anonymous), { ok: true })
  t.match(authorizeSubscribe(r, 'acme/sync/7', user7), { ok: true })
  t.match(authorizeSubscribe(r, 'acme/sync/7', anonymous), { reason: 'anonymous' })
})

test('exact topics win over patterns; among patterns the first rule wins; same topic: the last one', async (t) => {
  const rules: TopicRule[] = [
    { topic: 'a/{x}', policy: 'public' },
    { topic: 'a/{user_id}/b', policy: 'user' },
    { topic: 'a/{y}/{z}', policy: 'public' },
    { topic: 'a/fixed', policy: 'ping' },
    { topic: '{any}/b', name: 'root', policy: 'public' },
    { topic: 'a/{x}', name: 'replacement', policy: 'user-or-wildcard', requirements: { x: { pattern: 'q' } } }
  ]
  t.throws(() => createTopicRouter(rules), /no \{user_id\} placeholder/, 'the compiler checks rules given directly too')
  rules[5] = { topic: 'a/{x}', name: 'replacement', policy: 'public', requirements: { x: { pattern: '^q$' } } }
  const r = createTopicRouter(rules)
  t.equal(r.rules.length, 5)
  t.equal(r.match('a/fixed')?.rule.policy, 'ping')
  t.equal(r.match('a/q')?.rule.name, 'replacement', 'replaced in place; ^ and $ in patterns are dropped')
  t.equal(r.match('a/r'), null)
  t.equal(r.match('a/7/b')?.rule.policy, 'user', 'a/{user_id}/b comes before a/{y}/{z} and {any}/b')
  t.equal(r.match('x/b')?.rule.name, 'root')
  t.same(r.match('a/1/2')?.params, { y: '1', z: '2' })
})

test('the cache is bounded and does not change answers', async (t) => {
  const r = createTopicRouter(defaultRules(), { cacheSize: 2 })
  for (let i = 0; i < 10; i++) t.equal(r.match(`oro/reminder_remind/${i}`)?.params.user_id, String(i))
  t.equal(r.match('oro/reminder_remind/1')?.params.user_id, '1')
  t.ok(r.match('oro/reminder_remind/' + '1'.repeat(20)))
  t.notOk(r.match('oro/reminder_remind/' + '1'.repeat(1000)), 'an id over 20 digits matches no rule (issue 17: each value is a topic)')
  const none = createTopicRouter(defaultRules(), { cacheSize: 0 })
  t.ok(none.match('oro/email_event/1/2'))
  t.ok(none.match('oro/email_event/1/2'))
})

test('defaults are fresh objects each time', async (t) => {
  const a = defaultRules()
  a[0]!.policy = 'public'
  t.equal(defaultRules()[0]!.policy, 'ping')
  t.same(defaultRules().map((r) => r.topic), [
    'oro/ping', 'oro/data/update', 'oro/maintenance', 'oro/outdated_user_page', 'oro/message_queue_heartbeat',
    'oro/email_event/{user_id}/{organization_id}', 'oro/reminder_remind/{user_id}',
    'oro/attribute_import/{user_id}/{config_model_id}', 'oro/imap_sync_fail/{user_id}'
  ])
})
