// WebSocket upgrades, where Ratchet accepted them: on / (what nginx forwards with either
// proxy_pass form), on the FRONTEND DSN's path (direct connections) and on any other path that is
// not one of our HTTP routes. A plain HTTP GET on these paths gets a JSON answer instead.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { GW_ERR_NOT_FOUND, GW_ERR_UPGRADE_REQUIRED } from '../src/errors.js'

function sendError (reply: FastifyReply, error: { code: string, message: string, statusCode?: number }): FastifyReply {
  return reply.code(error.statusCode ?? 500).send({ code: error.code, message: error.message })
}

export default async function websocketRoutes (fastify: FastifyInstance): Promise<void> {
  const upgrade = fastify.upgrade
  // Before the upgrade (src/upgrade/upgrade.ts): draining, origin, ticket, the user's sessions. A
  // refusal is an HTTP answer (the error handler's {code, message}), which Oro's browser code
  // treats as a failed connect and retries.
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.ws) return
    const verdict = await upgrade.decide({ headers: request.headers, ticket: (request.query as Record<string, unknown>).ticket, socket: request.raw.socket })
    if (verdict.accepted) return
    if (verdict.retryAfter !== undefined) reply.header('Retry-After', verdict.retryAfter)
    throw verdict.error
  })

  // ws wrote the 101: the WELCOME joins it and the session begins.
  const wsHandler = function (ws: WebSocket, request: FastifyRequest): void {
    upgrade.accept(ws, request.raw.socket)
  }
  // The example names the port this gateway really listens on (not a fixed 8080).
  const server = fastify.gateway.server
  const example = `${server.tls !== null ? 'wss' : 'ws'}://<host>:${server.port}/${fastify.gateway.frontend.path}`
  const upgradeRequired = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => sendError(reply, new GW_ERR_UPGRADE_REQUIRED(example))
  const notFound = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
    sendError(reply, new GW_ERR_NOT_FOUND(request.method, request.url.split('?')[0]))

  const hide = { hide: true } as Record<string, unknown>
  fastify.route({ method: 'GET', url: '/', schema: hide, handler: upgradeRequired, wsHandler })
  const path = fastify.gateway.frontend.path
  if (path !== '') fastify.route({ method: 'GET', url: `/${path}`, schema: hide, handler: upgradeRequired, wsHandler })
  fastify.route({ method: 'GET', url: '/*', schema: hide, handler: notFound, wsHandler })
}
