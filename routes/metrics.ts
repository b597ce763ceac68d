// Prometheus metrics: the gateway's counters plus a few gauges read at scrape time.
import type { FastifyInstance, FastifySchema } from 'fastify'
import { renderMetrics } from '../src/metrics.js'

export default async function metricsRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text format 0.0.4)', tags: ['health'], response: { 200: { type: 'string' } } } as FastifySchema,
    logLevel: 'warn'
  }, async function (_request, reply) {
    const memory = process.memoryUsage()
    const body = renderMetrics({
      sessions: { help: 'Open WebSocket sessions on this node', value: fastify.sessions.size },
      topics: { help: 'Topics with at least one local subscriber', value: fastify.hub.topicCount },
      resident_memory_bytes: { help: 'Resident set size of the process', value: memory.rss },
      heap_used_bytes: { help: 'V8 heap in use', value: memory.heapUsed },
      ready: { help: '1 when /readyz answers 200', value: fastify.readiness.report().ready ? 1 : 0 }
    })
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(body)
  })
}
