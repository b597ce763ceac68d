// Liveness and readiness probes for orchestrators and supervisors.
import type { FastifyInstance } from 'fastify'

const checksSchema = {
  type: 'object',
  description: "Each check is 'ok' or the reason it is not ready (starting, draining, broker down, ...)",
  additionalProperties: { type: 'string' }
} as const

export default async function healthRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.get('/healthz', {
    schema: {
      summary: 'Liveness: 200 while the process runs',
      tags: ['health'],
      response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] } }
    },
    logLevel: 'warn'
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/readyz', {
    schema: {
      summary: 'Readiness: 200 when listening and every dependency is ready, else 503 naming what is not',
      tags: ['health'],
      response: {
        200: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] }, checks: checksSchema }, required: ['status', 'checks'] },
        503: { type: 'object', properties: { status: { type: 'string', enum: ['unavailable'] }, checks: checksSchema }, required: ['status', 'checks'] }
      }
    },
    logLevel: 'warn'
  }, async function (_request, reply) {
    const report = this.readiness.report()
    if (report.ready) return { status: 'ready', checks: report.checks }
    return reply.code(503).send({ status: 'unavailable', checks: report.checks })
  })
}
