// The app's metrics on the instance: its Prometheus registry (its stats and gauges read at scrape
// time) and the sessions a drain drops (the upgrade authentication time is observed by the
// upgrade itself: plugins/websocket.ts). Counting stays out of the hot paths: those increment
// plain numbers in the app's stats (src/stats.ts).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { countSessions, createAppRegistry, type AppMetrics } from '../src/metrics/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's metrics for GET /metrics (prom-client's registry made at the first scrape). */
    metricsRegistry: AppMetrics
  }
}

export interface MetricsPluginOptions {
  /** Log lines the process's stdout destination dropped (the composition root knows the logger). */
  logLinesDropped?: () => number
}

async function metricsPlugin (fastify: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  const { sessions, stats } = fastify
  fastify.decorate('metricsRegistry', createAppRegistry({
    sessions: () => countSessions(sessions),
    topicCount: () => fastify.hub.topicCount,
    readiness: () => fastify.readiness.report(),
    admission: () => fastify.authStats().admission,
    ...(options.logLinesDropped !== undefined ? { logLinesDropped: options.logLinesDropped } : {})
  }, stats))

  // The websocket plugin drops every session when the drain starts (it listens first).
  fastify.readiness.onDrain(() => { stats.shutdownDrops += sessions.size })
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['readiness', 'broker', 'auth', 'websocket'] })
