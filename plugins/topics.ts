// Topic routing on the instance: Oro's rules, every websocket_routing.yml under --app-root (with
// the policies of the bundles' topic services), the application's config/oro/websocket_routing/
// and ORO_WEBSOCKET_TOPICS, turned into the policies sessions and the publish API ask: who may
// subscribe where (private topics), what may be published, and Oro's payload shapes.
// reloadTopics() reads them all again (SIGHUP, a change of Oro's configuration): the new rules
// apply to the next SUBSCRIBE and publish, and subscriptions they no longer allow are ended;
// no session is dropped.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import {
  authorizePublish, authorizeSubscribe, checkPayload, createTopicRouter, loadTopicRules, type LoadedRule, type LoadedTopics, type TopicRouter
} from '../src/topics/index.js'
import type { SessionPolicy, WampSession } from '../src/wamp/session.js'
import type { PublishTopicPolicy } from '../src/publish/policy.js'
import type { LoadedConfig } from '../src/config/load.js'
import { topicSources } from '../src/config/requirements.js'
import { ConfigError } from '../src/config/errors.js'
import type { GatewayLogger } from '../src/logger.js'

/** The router in effect; replaced whole by a reload, read on every SUBSCRIBE and publish. */
export interface TopicTable {
  router: TopicRouter
}

export interface TopicReload {
  ok: boolean
  /** Rules added, removed or with another policy or source. */
  changed: number
  /** Subscriptions ended because the new rules no longer allow them. */
  revoked: number
}

declare module 'fastify' {
  interface FastifyInstance {
    readonly topicRouter: TopicRouter
    sessionPolicy: SessionPolicy
    publishPolicy: PublishTopicPolicy
    /**
     * Reads every topic file again; a file that fails leaves the rules in effect as they are.
     * `report`: where the outcome goes when not the app's log (SIGHUP: the lifecycle logger).
     */
    reloadTopics (why: string, report?: GatewayLogger): TopicReload
  }
}

export function sessionPolicy (table: TopicTable): SessionPolicy {
  return {
    subscribe (topic: string, session: WampSession) {
      const identity = session.identity.anonymous ? { anonymous: true } : { anonymous: false, userId: session.identity.userId }
      const decision = authorizeSubscribe(table.router, topic, identity)
      return decision.ok ? null : { reason: decision.reason, message: decision.message }
    },
    publish (topic: string) {
      const decision = authorizePublish(table.router, topic)
      return decision.ok ? null : { reason: decision.reason, message: decision.message }
    }
  }
}

export function publishPolicy (table: TopicTable): PublishTopicPolicy {
  return {
    route (topic: string) {
      const decision = authorizePublish(table.router, topic)
      if (decision.ok) return null
      return { status: decision.reason === 'no-route' ? 404 : 403, message: decision.message }
    },
    shape (topic: string, data: unknown) {
      const match = table.router.match(topic)
      return match === null ? null : checkPayload(match.rule, data)
    }
  }
}

function ruleKey (rule: LoadedRule): string {
  return `${rule.policy} ${rule.source} ${rule.handlerClass ?? ''}`
}

async function topicsPlugin (fastify: FastifyInstance, opts: { loaded: LoadedConfig }): Promise<void> {
  const { loaded } = opts
  const log = fastify.log as unknown as GatewayLogger
  // Already loaded by the pre-flight check (src/config/requirements.ts) when serve started.
  let topics = loaded.topics ?? loadTopicRules(topicSources(loaded))
  const warned = new Set<string>()
  const warn = (current: LoadedTopics): void => {
    for (const warning of current.warnings) {
      if (warned.has(warning.key)) continue
      warned.add(warning.key)
      log.warn(warning.fields, warning.message)
    }
  }
  for (const rule of topics.loaded) {
    log.info({ topic: rule.topic, policy: rule.policy, source: rule.source, replaces: rule.replaces, route: rule.route, class: rule.handlerClass, policyFrom: rule.policyFrom }, 'topic rule loaded')
  }
  warn(topics)
  const table: TopicTable = { router: createTopicRouter(topics.rules) }
  fastify.decorate('topicRouter', { getter: () => table.router })
  fastify.decorate('sessionPolicy', sessionPolicy(table))
  fastify.decorate('publishPolicy', publishPolicy(table))

  fastify.decorate('reloadTopics', function reloadTopics (why: string, report: GatewayLogger = log): TopicReload {
    let next: LoadedTopics
    try {
      next = loadTopicRules(topicSources(loaded))
    } catch (err) {
      const text = err instanceof ConfigError ? err.message : (err as Error).message
      report.error({ why }, `topic rules not reloaded (${why}), the rules in effect stay: ${text}`)
      return { ok: false, changed: 0, revoked: 0 }
    }
    const before = new Map(topics.loaded.map((rule) => [rule.topic, rule]))
    let changed = 0
    for (const rule of next.loaded) {
      const old = before.get(rule.topic)
      before.delete(rule.topic)
      if (old !== undefined && ruleKey(old) === ruleKey(rule)) continue
      changed++
      log.notice({ topic: rule.topic, policy: rule.policy, was: old?.policy, source: rule.source, route: rule.route, class: rule.handlerClass },
        old === undefined ? `topic rule added: ${rule.topic} (${rule.policy})` : `topic rule changed: ${rule.topic} (${old.policy} → ${rule.policy}, ${rule.source})`)
    }
    for (const rule of before.values()) {
      changed++
      log.notice({ topic: rule.topic, policy: rule.policy, source: rule.source }, `topic rule removed: ${rule.topic}`)
    }
    topics = next
    table.router = createTopicRouter(next.rules)
    warn(next)
    // Subscriptions the new rules refuse end now, as a restart of Oro's server would have ended them.
    let revoked = 0
    if (changed > 0 && fastify.hasDecorator('sessions')) {
      for (const session of fastify.sessions) revoked += session.recheckSubscriptions()
    }
    report.notice({ why, rules: next.loaded.length, changed, revoked }, `topic rules reloaded (${why}): ${next.loaded.length} rules, ${changed} changed, ${revoked} subscriptions ended`)
    return { ok: true, changed, revoked }
  })
}

export default fp(topicsPlugin, { name: 'topics', fastify: '5.x' })
