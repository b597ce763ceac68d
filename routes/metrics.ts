// GET /metrics: Prometheus text format, from prom-client (process, Node.js and gateway metrics;
// the list is in the README's "Metrics" section).
import type { FastifyInstance, FastifySchema } from 'fastify'
import { METRICS_CONTENT_TYPE, scrapeMetrics } from '../src/metrics/registry.js'

export default async function metricsRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text format 0.0.4)', tags: ['health'], response: { 200: { type: 'string' } } } as FastifySchema,
    logLevel: 'warn'
  }, async function (_request, reply) {
    const body = await scrapeMetrics(fastify.metricsRegistry)
    return reply.type(METRICS_CONTENT_TYPE).send(body)
  })
}
