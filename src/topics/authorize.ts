// Who may subscribe to and publish on a topic, decided from the topic's rule. Oro checks private
// topics on SUBSCRIBE only (SyncBundle Topic/SecuredTopic.php); publishing is the backend's job.
import type { TopicRule } from './rule.js'
import type { TopicRouter } from './router.js'

export interface SessionIdentity {
  anonymous: boolean
  userId?: number
}

export type SubscribeDecision =
  | { ok: true, rule: TopicRule }
  | { ok: false, reason: 'no-route' | 'anonymous' | 'other-user' | 'unknown-policy', message: string }

export type PublishDecision =
  | { ok: true, rule: TopicRule }
  | { ok: false, reason: 'no-route' | 'server-only', message: string }

export function authorizeSubscribe (router: TopicRouter, topic: string, identity: SessionIdentity): SubscribeDecision {
  const m = router.match(topic)
  if (m === null) return noRoute(topic)
  const { rule, params } = m
  if (rule.policy === 'public' || rule.policy === 'ping') return { ok: true, rule }
  if (rule.policy === 'unknown') {
    // Fail closed: the route's handler is a class the gateway cannot run (logged at start).
    return { ok: false, reason: 'unknown-policy', message: `the gateway does not know who may subscribe to ${topic} (route ${rule.name ?? rule.topic}, class ${rule.handlerClass ?? 'not found'}); declare it with policy: in ORO_WEBSOCKET_TOPICS (docs/topics.md)` }
  }

  const wanted = params.user_id as string
  if (rule.policy === 'user-or-wildcard' && wanted === '*') return { ok: true, rule }
  if (identity.anonymous || identity.userId === undefined) {
    return { ok: false, reason: 'anonymous', message: `an anonymous session may not subscribe to ${topic}` }
  }
  // Oro reads the placeholder with getInt(), so "007" is user 7 and "*" or "abc" is nobody (0).
  if (!/^\d+$/.test(wanted) || Number(wanted) !== identity.userId || identity.userId === 0) {
    return { ok: false, reason: 'other-user', message: `user ${identity.userId} may not subscribe to ${topic}` }
  }
  return { ok: true, rule }
}

export function authorizePublish (router: TopicRouter, topic: string): PublishDecision {
  const m = router.match(topic)
  if (m === null) return noRoute(topic)
  if (m.rule.policy === 'ping') {
    return { ok: false, reason: 'server-only', message: `${topic} is published by the gateway itself; publishes to it are ignored` }
  }
  return { ok: true, rule: m.rule }
}

function noRoute (topic: string): { ok: false, reason: 'no-route', message: string } {
  return { ok: false, reason: 'no-route', message: `Unable to find route for ${topic}` }
}
