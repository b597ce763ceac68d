// The app's metrics on the instance: its Prometheus registry (gauges read at scrape time), the
// upgrade authentication time, POST /publish outcomes and the sessions a drain drops. Counting
// stays out of the hot paths: those increment plain numbers (src/metrics.ts).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { counters, httpPublishOutcomes, upgradeAuthDuration } from '../src/metrics.js'
import { countSessions, createAppRegistry, type AppMetrics } from '../src/metrics/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's metrics for GET /metrics (prom-client's registry made at the first scrape). */
    metricsRegistry: AppMetrics
  }
}

/** What a POST /publish answer's status means, as the `outcome` label. */
export function publishOutcome (status: number): string {
  if (status < 300) return 'ok'
  if (status === 401) return 'unauthorized'
  if (status === 429) return 'rate_limited'
  if (status === 503) return 'unavailable'
  if (status === 504) return 'unknown'
  if (status < 500) return 'refused'
  return 'error'
}

/**
 * Counts every POST /publish answer of this app by outcome (also used by the publish listener).
 * The hook goes on that route alone (added as the route is declared): other requests pay nothing,
 * and it needs no `request.routeOptions` (an object built on each read) to know the route.
 */
export function countPublishOutcomes (app: FastifyInstance): void {
  const count = (_request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const outcome = publishOutcome(reply.statusCode)
    httpPublishOutcomes[outcome] = (httpPublishOutcomes[outcome] ?? 0) + 1
    done()
  }
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (route.url !== '/publish' || !methods.includes('POST')) return
    const hooks = route.onResponse
    route.onResponse = hooks == null ? [count] : [...(Array.isArray(hooks) ? hooks : [hooks]), count] as typeof route.onResponse
  })
}

async function metricsPlugin (fastify: FastifyInstance): Promise<void> {
  const sessions = fastify.sessions
  fastify.decorate('metricsRegistry', createAppRegistry({
    sessions: () => countSessions(sessions),
    topicCount: () => fastify.hub.topicCount,
    readiness: () => fastify.readiness.report(),
    admission: () => fastify.authStats().admission
  }))

  // Upgrade authentication time, whatever the answer: wraps the auth plugin's decision.
  const admit = fastify.admitUpgrade
  fastify.admitUpgrade = async function timedAdmitUpgrade (request, reply) {
    const started = performance.now()
    try {
      const decision = await admit.call(this, request, reply)
      upgradeAuthDuration.observe({ outcome: 'accepted' }, (performance.now() - started) / 1000)
      return decision
    } catch (err) {
      upgradeAuthDuration.observe({ outcome: 'refused' }, (performance.now() - started) / 1000)
      throw err
    }
  }

  // The websocket plugin drops every session when the drain starts (it listens first).
  fastify.readiness.onDrain(() => { counters.shutdownDrops += sessions.size })
  countPublishOutcomes(fastify)
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['readiness', 'broker', 'auth', 'websocket'] })
