// The status page's board on the instance (ORO_WEBSOCKET_STATUS=on only): samples the app's stats
// once a second from when the app is ready until it closes. routes/status.ts serves it, on this
// app or on the metrics listener's.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { countSessions } from '../src/metrics/registry.js'
import { StatusBoard } from '../src/status/board.js'
import { version } from '../src/version.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** null unless ORO_WEBSOCKET_STATUS=on. */
    statusBoard: StatusBoard | null
  }
}

async function statusPlugin (fastify: FastifyInstance): Promise<void> {
  if (!fastify.gateway.status.enabled) {
    fastify.decorate('statusBoard', null)
    return
  }
  const { sessions, hub, readiness, stats } = fastify
  const board = new StatusBoard({
    sessions: () => countSessions(sessions),
    sessionCount: () => sessions.size,
    topics: () => hub.topics(),
    subscriberCount: (topic) => hub.subscriberCount(topic),
    topicCount: () => hub.topicCount,
    readiness: () => readiness.report(),
    state: () => readiness.state,
    brokerKind: fastify.gateway.broker.target.kind,
    version,
    stats
  })
  fastify.decorate('statusBoard', board)
  fastify.addHook('onReady', async () => { board.start() })
  fastify.addHook('onClose', async () => { board.stop() })
}

export default fp(statusPlugin, { name: 'status', fastify: '5.x', dependencies: ['config', 'readiness', 'broker', 'websocket'] })
