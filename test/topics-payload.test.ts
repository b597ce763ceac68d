import { test } from 'tap'
import { checkPayload, defaultRules, type TopicRule } from '../src/topics/index.js'

// [topic, payload, null when accepted or the problem]
const table: Array<[string, unknown, RegExp | null]> = [
  ['oro/data/update', [{ username: 'admin', tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }], null],
  ['oro/data/update', [{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_type_collection' }, { username: 'a', tagname: 'b' }], null],
  ['oro/data/update', [], null], // harmless: content-manager.js changes nothing
  ['oro/data/update', { username: 'a', tagname: 'b' }, /is not a list/],
  ['oro/data/update', [{ username: 'a' }], /^element 0: "tagname" is missing$/],
  ['oro/data/update', [{ username: 'a', tagname: 'b' }, null], /^element 1: null is not an object$/],
  ['oro/data/update', [{ username: 5, tagname: 'b' }], /"username" is 5, not string\|null/],
  ['oro/data/update', [{ tagname: 'b' }], /"username" is missing/],
  ['oro/maintenance', { isOn: true, userId: 1 }, null],
  ['oro/maintenance', { isOn: false, userId: null }, null],
  ['oro/maintenance', { isOn: true, msg: 'Maintenance mode is ON' }, null], // Oro before 2.x
  ['oro/maintenance', { isOn: 'yes', userId: 1 }, /"isOn" is "yes", not bool/],
  ['oro/maintenance', { isOn: true, userId: 1.5 }, /"userId" is 1.5, not int\|null/],
  ['oro/maintenance', [], /\[\] \(an empty PHP array\) is not an object/],
  ['oro/outdated_user_page', { role: 'ROLE_ADMINISTRATOR' }, null],
  ['oro/outdated_user_page', { role: null }, /"role" is null, not string/],
  ['oro/message_queue_heartbeat', '', null],
  ['oro/message_queue_heartbeat', 'beat', null],
  ['oro/message_queue_heartbeat', null, /null is not a string/],
  ['oro/email_event/7/1', { hasNewEmail: true }, null],
  ['oro/email_event/7/*', { hasNewEmail: 1 }, /"hasNewEmail" is 1, not bool/],
  ['oro/email_event/7/1', [], /empty PHP array/],
  ['oro/reminder_remind/7', [{ templateId: 'default', expireAt: '2026-01-01', subject: 's', url: '/u', id: 1, uniqueId: 'x' }], null],
  ['oro/reminder_remind/7', [], null],
  ['oro/reminder_remind/7', [[]], /element 0: \[\] is not an object/],
  ['oro/reminder_remind/7', { id: 1 }, /is not a list/],
  ['oro/attribute_import/7/3', { finished: true }, null],
  ['oro/attribute_import/7/3', {}, /"finished" is missing/],
  ['oro/imap_sync_fail/7', { username: 'john', host: 'imap.example.com' }, null],
  ['oro/imap_sync_fail/*', { username: 'john' }, /"host" is missing/],
  ['oro/imap_sync_fail/7', 'failed', /"failed" is not an object/],
  ['oro/ping', 'anything', null],
  ['acme/custom', { any: ['json'] }, null],
  ['oro/email_event/x/1', 'no route: not an Oro topic', null]
]

test('payloads of Oro\'s topics, by topic name', async (t) => {
  for (const [topic, data, problem] of table) {
    const result = checkPayload(topic, data)
    if (problem === null) t.equal(result, null, `${topic} ${JSON.stringify(data)}`)
    else t.match(result?.problem, problem, `${topic} ${JSON.stringify(data)}`)
  }
})

test('the expected shape is what the API shows', async (t) => {
  t.same(checkPayload('oro/data/update', {}), { expected: '[{"username": string|null, "tagname": string}, ...]', problem: '{} is not a list' })
  t.equal(checkPayload('oro/maintenance', 1)?.expected, '{"isOn": bool, "userId": int|null}')
  t.equal(checkPayload('oro/imap_sync_fail/1', 1)?.expected, '{"username": string, "host": string}')
  const long = checkPayload('oro/email_event/1/1', 'x'.repeat(100))?.problem ?? ''
  t.ok(long.length < 60, 'long values are shortened')
})

test('by rule: the callback, or Oro\'s topic template whatever the placeholder names', async (t) => {
  const email = defaultRules().find((r) => r.callback === 'oro_email.event') as TopicRule
  t.ok(checkPayload(email, {}))
  t.ok(checkPayload({ topic: 'oro/email_event/{uid}/{org}', policy: 'user' }, {}), 'list-format rule for an Oro topic')
  t.ok(checkPayload({ topic: 'acme/x', callback: 'oro_sync.maintenance', policy: 'public' }, {}), 'an Oro callback on another topic')
  t.equal(checkPayload({ topic: 'acme/x', callback: 'acme.x', policy: 'public' }, {}), null)
  t.equal(checkPayload({ topic: 'acme/{id}', policy: 'public' }, 5), null)
})
