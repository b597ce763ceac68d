// Topic routing on the instance: Oro's rules, every websocket_routing.yml under --app-root and
// ORO_WEBSOCKET_TOPICS, turned into the policies sessions and the publish API ask: who may
// subscribe where (private topics), what may be published, and Oro's payload shapes.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import {
  authorizePublish, authorizeSubscribe, checkPayload, createTopicRouter, loadTopicRules, type TopicRouter
} from '../src/topics/index.js'
import type { SessionPolicy, WampSession } from '../src/wamp/session.js'
import type { PublishTopicPolicy } from '../src/publish/policy.js'
import type { LoadedConfig } from '../src/config/load.js'
import { topicSources } from '../src/config/requirements.js'

declare module 'fastify' {
  interface FastifyInstance {
    topicRouter: TopicRouter
    sessionPolicy: SessionPolicy
    publishPolicy: PublishTopicPolicy
  }
}

export function sessionPolicy (router: TopicRouter): SessionPolicy {
  return {
    subscribe (topic: string, session: WampSession) {
      const identity = session.identity.anonymous ? { anonymous: true } : { anonymous: false, userId: session.identity.userId }
      const decision = authorizeSubscribe(router, topic, identity)
      return decision.ok ? null : { reason: decision.reason, message: decision.message }
    },
    publish (topic: string) {
      const decision = authorizePublish(router, topic)
      return decision.ok ? null : { reason: decision.reason, message: decision.message }
    }
  }
}

export function publishPolicy (router: TopicRouter): PublishTopicPolicy {
  return {
    route (topic: string) {
      const decision = authorizePublish(router, topic)
      if (decision.ok) return null
      return { status: decision.reason === 'no-route' ? 404 : 403, message: decision.message }
    },
    shape (topic: string, data: unknown) {
      const match = router.match(topic)
      return match === null ? null : checkPayload(match.rule, data)
    }
  }
}

async function topicsPlugin (fastify: FastifyInstance, opts: { loaded: LoadedConfig }): Promise<void> {
  const { loaded } = opts
  // Already loaded by the pre-flight check (src/config/requirements.ts) when serve started.
  const topics = loaded.topics ?? loadTopicRules(topicSources(loaded))
  for (const rule of topics.loaded) {
    fastify.log.info({ topic: rule.topic, policy: rule.policy, source: rule.source, replaces: rule.replaces }, 'topic rule loaded')
  }
  const router = createTopicRouter(topics.rules)
  fastify.decorate('topicRouter', router)
  fastify.decorate('sessionPolicy', sessionPolicy(router))
  fastify.decorate('publishPolicy', publishPolicy(router))
}

export default fp(topicsPlugin, { name: 'topics', fastify: '5.x' })
