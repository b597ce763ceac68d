// GET /status (a self-contained live page) and GET /status.json (what it polls): only when
// ORO_WEBSOCKET_STATUS=on. With ORO_WEBSOCKET_STATUS_KEY both want the key, as
// "Authorization: Bearer KEY" or ?key=KEY (a browser's address bar), compared in constant time;
// without it they are served only on the metrics listener (the gateway refuses to start otherwise).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GW_ERR_STATUS_UNAUTHORIZED } from '../src/errors.js'
import { bearerToken, createPublishKeys } from '../src/publish/keys.js'
import type { StatusBoard } from '../src/status/board.js'
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '../src/status/page.js'

export interface StatusRouteOptions {
  board: StatusBoard
  /** null: no key asked (the metrics listener only). */
  key: string | null
}

export default async function statusRoutes (fastify: FastifyInstance, options: StatusRouteOptions): Promise<void> {
  const keys = options.key === null ? null : createPublishKeys([options.key])
  if (keys !== null) {
    fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.query as Record<string, unknown>
      const presented = bearerToken(request.headers.authorization) ?? (typeof query.key === 'string' ? query.key : '')
      if (keys.match(presented) === -1) {
        reply.header('WWW-Authenticate', 'Bearer realm="status"')
        throw new GW_ERR_STATUS_UNAUTHORIZED()
      }
    })
  }
  fastify.addHook('onSend', async (_request, reply) => {
    // Live figures: never from a cache; the key (in the address) never goes out as a referrer.
    reply.header('Cache-Control', 'no-store')
    reply.header('Referrer-Policy', 'no-referrer')
    reply.header('X-Content-Type-Options', 'nosniff')
  })

  fastify.get('/status', {
    schema: { summary: 'Status page: live figures of this node (HTML; ORO_WEBSOCKET_STATUS=on)', tags: ['health'] },
    logLevel: 'warn'
  }, async function (_request, reply) {
    reply.header('Content-Security-Policy', STATUS_PAGE_CSP)
    reply.header('X-Frame-Options', 'DENY')
    return reply.type('text/html; charset=utf-8').send(STATUS_PAGE_HTML)
  })

  fastify.get('/status.json', {
    schema: { summary: 'The status page\'s figures as JSON (ORO_WEBSOCKET_STATUS=on)', tags: ['health'] },
    logLevel: 'warn'
  }, async function () {
    return options.board.snapshot()
  })
}
