// WebSocket sessions on the instance: @fastify/websocket (ws) set up for WAMP v1, the upgrade
// (src/upgrade/upgrade.ts: decide, accept, register) with the open sessions, their keep-alive,
// and what happens to them when the gateway drains: WAMP v1 sessions are dropped without a close
// handshake so Oro's browser code reconnects (oro-compat §6).
import fp from 'fastify-plugin'
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { WampSession, SessionContext } from '../src/wamp/session.js'
import { KeepAlive } from '../src/wamp/keepalive.js'
import { WriteScheduler } from '../src/wamp/socket-writer.js'
import { LogThrottle } from '../src/log-throttle.js'
import { FirstSeen } from '../src/first-seen.js'
import type { GatewayLogger } from '../src/logger.js'
import { SERVER_IDENT } from '../src/version.js'
import { MAX_FRAGMENTS, MessageLimitedWebSocket, maxBufferedChunks } from '../src/wamp/message-limit.js'
import { UserQuota } from '../src/wamp/user-quota.js'
import { Upgrade } from '../src/upgrade/upgrade.js'

// ws's class as @fastify/websocket's types name it (they resolve ws's types in CommonJS mode).
type WebSocketClass = NonNullable<NonNullable<WebsocketPluginOptions['options']>['WebSocket']>

declare module 'fastify' {
  interface FastifyInstance {
    /** The WebSocket upgrade: decide (routes/websocket.ts onRequest), accept and register. */
    upgrade: Upgrade
    sessions: Set<WampSession>
    /** Sessions and subscriptions per user on this node. */
    userQuota: UserQuota
  }
}

async function websocketPlugin (fastify: FastifyInstance): Promise<void> {
  const limits = fastify.gateway.websocket
  const log = fastify.log as unknown as GatewayLogger
  const stats = fastify.stats
  // Set when the plugin is registered below; preClose runs only after.
  let upgrade: Upgrade | undefined

  await fastify.register(fastifyWebsocket, {
    options: {
      // Browsers' limit; a backend session gets its own (decided with the upgrade, message-limit.ts).
      maxPayload: limits.maxFrameBytes,
      WebSocket: MessageLimitedWebSocket as WebSocketClass,
      perMessageDeflate: false,
      clientTracking: false,
      // Bounds of what ws holds for one message (a client's frame is one fragment, one or a few
      // TCP reads): more fragments, or more unread chunks, close the session with 1008.
      maxFragments: MAX_FRAGMENTS,
      maxBufferedChunks: maxBufferedChunks(limits.maxFrameBytes),
      // Pings are answered by the session's connection, which bounds a ping flood.
      autoPong: false,
      // Select `wamp` when offered (autobahn 0.8 closes otherwise); accept clients offering none.
      handleProtocols: (protocols: Set<string>) => protocols.has('wamp') ? 'wamp' : false
    },
    // Shutdown: drop, do not close (see above).
    preClose: (done: () => void) => {
      upgrade?.dropAll()
      done()
    }
  })

  const throttle = new LogThrottle()
  const quota = new UserQuota({ maxSessionsPerUser: limits.maxSessionsPerUser, maxSubscriptionsPerUser: limits.maxSubscriptionsPerUser })
  const context: SessionContext = {
    hub: fastify.hub,
    broker: fastify.broker,
    policy: fastify.sessionPolicy,
    // The resolved WebSocket limits (ORO_WEBSOCKET_MAX_*), SessionLimits among them.
    limits,
    stats,
    quota,
    log,
    throttle,
    refusedPublishers: new FirstSeen()
  }
  upgrade = new Upgrade({
    authenticate: fastify.authenticateUpgrade,
    draining: () => fastify.readiness.draining,
    // Upgrade authentication time, whatever the answer.
    onAuthenticated: (outcome, seconds) => { (outcome === 'accepted' ? stats.upgradeAuthAccepted : stats.upgradeAuthRefused).observe(seconds) },
    context,
    writes: new WriteScheduler({
      onError: (err) => { log.error({ err }, 'ending a write turn failed') },
      // A fan-out yielding to the event loop keeps its frames together (see socket-writer.ts).
      holdWhile: () => fastify.hub.queued > 0,
      // The slow-consumer check allows the cap beyond the largest unsent message; messages under a
      // 16th of the cap are not noted (they change the allowance by less than that).
      largeFrameBytes: Math.max(1024, Math.floor(limits.maxBufferedBytes / 16))
    }),
    quota,
    limits,
    ident: SERVER_IDENT,
    log,
    throttle
  })
  const accepted = upgrade
  // ws is about to write a 101: the upgrade adds its headers and holds it for the WELCOME.
  fastify.websocketServer.on('headers', (headers: string[], request: IncomingMessage) => { accepted.handshake(headers, request) })
  fastify.decorate('upgrade', accepted)
  fastify.decorate('sessions', accepted.sessions)
  fastify.decorate('userQuota', quota)

  const keepAlive = new KeepAlive(accepted.sessions, fastify.hub, { ...limits, log, stats })
  keepAlive.start()
  fastify.readiness.onDrain(() => { accepted.dropAll() })
  fastify.addHook('onClose', async () => { keepAlive.stop() })
}

export default fp(websocketPlugin, { name: 'websocket', fastify: '5.x', dependencies: ['config', 'readiness', 'broker', 'topics', 'auth'] })
