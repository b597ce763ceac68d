// Oro's own topics (oroinc/platform */Resources/config/oro/websocket_routing.yml) and the policy
// each topic handler enforces, so the gateway works without reading the Oro application.
import type { TopicPolicy, TopicRule } from './rule.js'

/** Oro handler callbacks → the policy their topic handler implements. */
export const CALLBACK_POLICIES: Readonly<Record<string, TopicPolicy>> = {
  'oro_sync.ping': 'ping',
  'oro_sync.data_update': 'public',
  'oro_sync.maintenance': 'public',
  'oro_user.outdated_user_page': 'public',
  'oro_message_queue.message_queue_heartbeat': 'public',
  'oro_email.event': 'user',
  'oro_reminder.remind': 'user',
  'oro_entity_config.attribute_import': 'user',
  'oro_imap.sync_fail': 'user-or-wildcard'
}

/**
 * Oro's topic handler classes → the policy each implements (SyncBundle/Topic, ImapBundle/Topic).
 * Keys are lower case: PHP class names are case-insensitive. A class not listed here (a custom
 * bundle's own handler, or a subclass of one of these) is `unknown`: the gateway cannot run it.
 */
export const CLASS_POLICIES: Readonly<Record<string, TopicPolicy>> = {
  'oro\\bundle\\syncbundle\\topic\\securedtopic': 'user',
  'oro\\bundle\\syncbundle\\topic\\broadcasttopic': 'public',
  'oro\\bundle\\imapbundle\\topic\\syncfailtopic': 'user-or-wildcard',
  'oro\\bundle\\syncbundle\\topic\\websocketpingtopic': 'ping'
}

/** The policy of a topic handler class, undefined when the gateway does not know the class. */
export function classPolicy (className: string): TopicPolicy | undefined {
  return CLASS_POLICIES[className.replace(/^\\/, '').toLowerCase()]
}

const digits = { pattern: '\\d+' }
const digitsOrStar = { pattern: '\\d+', wildcard: true }

export function defaultRules (): TopicRule[] {
  // Fresh objects each call: callers may keep and change what they get.
  return [
    { name: 'oro_sync.ping', callback: 'oro_sync.ping', topic: 'oro/ping', policy: 'ping' },
    { name: 'oro_sync.data_update', callback: 'oro_sync.data_update', topic: 'oro/data/update', policy: 'public' },
    { name: 'oro_sync.maintenance', callback: 'oro_sync.maintenance', topic: 'oro/maintenance', policy: 'public' },
    { name: 'oro_user.outdated_user_page', callback: 'oro_user.outdated_user_page', topic: 'oro/outdated_user_page', policy: 'public' },
    { name: 'oro_message_queue.message_queue_heartbeat', callback: 'oro_message_queue.message_queue_heartbeat', topic: 'oro/message_queue_heartbeat', policy: 'public' },
    {
      name: 'oro_email.event',
      callback: 'oro_email.event',
      topic: 'oro/email_event/{user_id}/{organization_id}',
      requirements: { user_id: { ...digits }, organization_id: { ...digitsOrStar } },
      policy: 'user'
    },
    { name: 'oro_reminder.remind', callback: 'oro_reminder.remind', topic: 'oro/reminder_remind/{user_id}', requirements: { user_id: { ...digits } }, policy: 'user' },
    {
      name: 'oro_entity_config.attribute_import',
      callback: 'oro_entity_config.attribute_import',
      topic: 'oro/attribute_import/{user_id}/{config_model_id}',
      requirements: { user_id: { ...digits }, config_model_id: { ...digits } },
      policy: 'user'
    },
    { name: 'oro_imap.sync_fail', callback: 'oro_imap.sync_fail', topic: 'oro/imap_sync_fail/{user_id}', requirements: { user_id: { ...digitsOrStar } }, policy: 'user-or-wildcard' }
  ]
}
