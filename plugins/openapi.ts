// OpenAPI 3 description of the HTTP API, generated from the route schemas, at GET /openapi.json.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { version } from '../src/version.js'

async function openapiPlugin (fastify: FastifyInstance): Promise<void> {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'oro-websocket-gateway HTTP API',
        version,
        description: 'Publish events to WAMP v1 subscribers, and probe the gateway. WebSocket clients connect to / or the frontend path.'
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A key from ORO_WEBSOCKET_PUBLISH_KEYS' } } }
    }
  })
  fastify.get('/openapi.json', { schema: { hide: true } as Record<string, unknown>, logLevel: 'warn' }, async () => fastify.swagger())
}

export default fp(openapiPlugin, { name: 'openapi', fastify: '5.x' })
