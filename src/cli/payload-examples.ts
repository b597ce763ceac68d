// A payload that is right for a topic, for the `publish` command's hints: Oro's own topics take
// the shapes Oro's browser code reads (src/topics/payload-shapes.ts); any other topic takes any
// JSON. A test checks each example passes the gateway's own payload check.
import { defaultRules } from '../topics/defaults.js'
import { createTopicRouter, type TopicRouter } from '../topics/router.js'

const BY_CALLBACK: Readonly<Record<string, string>> = {
  'oro_sync.data_update': '[{"username":null,"tagname":"Oro_Bundle_UserBundle_Entity_User_1"}]',
  'oro_sync.maintenance': '{"isOn":true,"userId":null}',
  'oro_user.outdated_user_page': '{"role":"ROLE_ADMINISTRATOR"}',
  'oro_message_queue.message_queue_heartbeat': '""',
  'oro_email.event': '{"hasNewEmail":true}',
  'oro_reminder.remind': '[{"templateId":"default","expireAt":"2026-01-01T10:00:00+00:00","subject":"Call","url":"/call/1","id":1,"uniqueId":"r1"}]',
  'oro_entity_config.attribute_import': '{"finished":true}',
  'oro_imap.sync_fail': '{"username":"admin","host":"imap.example.com"}'
}

const ANY_JSON = '{"message":"hello"}'
let router: TopicRouter | undefined

export function examplePayload (topic: string): string {
  router ??= createTopicRouter(defaultRules())
  const callback = router.match(topic)?.rule.callback
  return (callback !== undefined ? BY_CALLBACK[callback] : undefined) ?? ANY_JSON
}
