// WebSocket upgrades, where Ratchet accepted them: on / (what nginx forwards with either
// proxy_pass form), on the FRONTEND DSN's path (direct connections) and on any other path that is
// not one of our HTTP routes. A plain HTTP GET on these paths gets a JSON answer instead.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { GW_ERR_NOT_FOUND, GW_ERR_SHUTTING_DOWN, GW_ERR_UPGRADE_REQUIRED, GW_ERR_USER_SESSIONS } from '../src/errors.js'
import type { UpgradeDecision } from '../plugins/websocket.js'
import { upgradeRefused } from '../src/metrics.js'

declare module 'fastify' {
  interface FastifyRequest {
    wampDecision: UpgradeDecision | null
  }
}

function sendError (reply: FastifyReply, error: { code: string, message: string, statusCode?: number }): FastifyReply {
  return reply.code(error.statusCode ?? 500).send({ code: error.code, message: error.message })
}

export default async function websocketRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.decorateRequest('wampDecision', null)
  // Before the upgrade: refuse while draining (the client retries, reaching another node or this
  // one restarted; only an upgrade on a connection accepted before the drain closed the listener
  // gets here, server.ts), then the origin and ticket checks. A refusal is an HTTP answer, which Oro's
  // browser code treats as a failed connect and retries.
  const refuseDraining = (reply: FastifyReply): FastifyReply => {
    upgradeRefused('shutting_down')
    reply.header('Retry-After', '2')
    return sendError(reply, new GW_ERR_SHUTTING_DOWN())
  }
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.ws) return
    if (fastify.readiness.draining) return refuseDraining(reply)
    const decision = await fastify.admitUpgrade(request, reply)
    // One user's browser sessions on this node are bounded (backends are not counted).
    if (!decision.canPublish && !fastify.userQuota.maySession(decision.identity)) {
      upgradeRefused('GW_ERR_USER_SESSIONS')
      reply.header('Retry-After', '60')
      return sendError(reply, new GW_ERR_USER_SESSIONS(fastify.userQuota.sessions(decision.identity)))
    }
    // The drain may have begun (and dropped every session) while the ticket was verified: a
    // session accepted now would outlive the drop loop.
    if (fastify.readiness.draining) return refuseDraining(reply)
    request.wampDecision = decision
  })

  const wsHandler = function (ws: WebSocket, request: FastifyRequest): void {
    const decision = request.wampDecision
    request.wampDecision = null
    if (decision === null) { ws.terminate(); return }
    fastify.acceptWamp(ws, request.raw.socket, decision)
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
