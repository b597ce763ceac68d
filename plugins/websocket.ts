// WebSocket sessions on the instance: @fastify/websocket (ws) set up for WAMP v1, the set of open
// sessions, their keep-alive, and what happens to them when the gateway drains: WAMP v1 sessions
// are dropped without a close handshake so Oro's browser code reconnects (oro-compat §6).
import fp from 'fastify-plugin'
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket, RawData } from 'ws'
import { ANONYMOUS, WampSession, type Identity, type SessionContext } from '../src/wamp/session.js'
import { KeepAlive } from '../src/wamp/keepalive.js'
import { WriteScheduler } from '../src/wamp/socket-writer.js'
import { LogThrottle } from '../src/log-throttle.js'
import { FirstSeen } from '../src/first-seen.js'
import { welcomeFrame } from '../src/wamp/welcome.js'
import type { GatewayLogger } from '../src/logger.js'
import { SERVER_IDENT } from '../src/version.js'
import { setCookieOf } from '../src/auth/resume-cookie.js'
import { MAX_FRAGMENTS, MessageLimitedWebSocket, maxBufferedChunks, setMessageLimit } from '../src/wamp/message-limit.js'
import { UserQuota } from '../src/wamp/user-quota.js'
import type { RecheckResult } from '../src/auth/resume-recheck.js'

// ws's class as @fastify/websocket's types name it (they resolve ws's types in CommonJS mode).
type WebSocketClass = NonNullable<NonNullable<WebsocketPluginOptions['options']>['WebSocket']>

export interface UpgradeDecision {
  identity: Identity
  canPublish: boolean
  address: string
  /** A session resumed by cookie: what the check of its ticket's digest, done afterwards, found. */
  recheck?: Promise<RecheckResult>
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Set<WampSession>
    /** Sessions and subscriptions per user on this node. */
    userQuota: UserQuota
    acceptWamp (ws: WebSocket, socket: Socket, decision: UpgradeDecision): WampSession
  }
}

const kSession = Symbol('wampSession')
type SessionSocket = WebSocket & { [kSession]: WampSession, [kPendingPongs]: number }
// Set on the raw request of an upgrade to a WAMP route, so only those are corked (see 'headers').
const kWampUpgrade = Symbol('wampUpgrade')
type MarkedRequest = IncomingMessage & { [kWampUpgrade]?: true }

// Shared listeners (`this` is the WebSocket): no closure per connection. Whatever fails inside
// one ends that session (1011, see WampSession.fault), never the process: an exception thrown
// from a ws listener would reach uncaughtException.
function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
  const session = (this as SessionSocket)[kSession]
  if (!session.alive) return
  if (isBinary) {
    session.protocolError('binary frames are not WAMP v1; send JSON text frames')
    return
  }
  session.handleText(data.toString()) // catches its own faults
}

function onPong (this: WebSocket): void {
  const session = (this as SessionSocket)[kSession]
  try {
    KeepAlive.pong(session)
  } catch (err) {
    session.fault(err, 'pong')
  }
}

// Pongs written and not yet taken by the kernel, per session, before a ping flood is dropped
// (ws's own limit for its auto-pong, which ends the session without a word: see onPing).
const MAX_PENDING_PONGS = 60
const kPendingPongs = Symbol('pendingPongs')

// Runs after the upgrade was admitted (routes/websocket.ts decides wampDecision in onRequest) and
// before ws completes it: the session's message limit goes with its socket (message-limit.ts).
function markWampUpgrade (this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  if (request.ws) {
    (request.raw as MarkedRequest)[kWampUpgrade] = true
    const limits = this.gateway.websocket
    if (request.wampDecision?.canPublish === true) setMessageLimit(request.raw.socket, limits.backendMaxFrameBytes)
  }
  done()
}

// @fastify/websocket hands the socket to an HTTP response for routing the upgrade; that response
// stays on the socket for the connection's life and with it the request, its headers and raw
// bytes, Fastify's request, reply and child logger (about 3 KB a connection). The session needs
// none of them: detach the response so they can be collected.
function releaseUpgrade (socket: Socket): void {
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (response != null) response.detachSocket(socket)
}

export function newSessionId (): string {
  // 144 random bits, URL-safe, 24 characters: unique across every node of a cluster.
  return randomBytes(18).toString('base64url')
}

async function websocketPlugin (fastify: FastifyInstance): Promise<void> {
  const limits = fastify.gateway.websocket
  const sessions = new Set<WampSession>()
  const log = fastify.log as unknown as GatewayLogger

  await fastify.register(fastifyWebsocket, {
    options: {
      // Browsers' limit; a backend session gets its own (markWampUpgrade, message-limit.ts).
      maxPayload: limits.maxFrameBytes,
      WebSocket: MessageLimitedWebSocket as WebSocketClass,
      perMessageDeflate: false,
      clientTracking: false,
      // Bounds of what ws holds for one message (a client's frame is one fragment, one or a few
      // TCP reads): more fragments, or more unread chunks, close the session with 1008.
      maxFragments: MAX_FRAGMENTS,
      maxBufferedChunks: maxBufferedChunks(limits.maxFrameBytes),
      // Pings are answered by onPing, which counts a ping flood's drop.
      autoPong: false,
      // Select `wamp` when offered (autobahn 0.8 closes otherwise); accept clients offering none.
      handleProtocols: (protocols: Set<string>) => protocols.has('wamp') ? 'wamp' : false
    },
    // Shutdown: drop, do not close (see above).
    preClose: (done: () => void) => {
      for (const session of sessions) session.drop()
      done()
    }
  })

  // The 101 and the WELCOME must leave in one write (Oro's PHP client reads once): hold the
  // socket's writes from the moment ws writes the 101 until acceptWamp queues the WELCOME. Only
  // WAMP upgrades: an upgrade to an HTTP route (/healthz) is closed by @fastify/websocket at once,
  // and a cork nobody lifts would hold its 101 and close frame until ws's 30 s close timeout.
  fastify.websocketServer.on('headers', (headers: string[], request: MarkedRequest) => {
    // The session cookie (docs/auth.md, "Resuming sessions") goes with the 101.
    const setCookie = setCookieOf(request)
    if (setCookie !== undefined) headers.push(`Set-Cookie: ${setCookie}`)
    if (request[kWampUpgrade] === true) request.socket.cork()
  })
  fastify.addHook('onRoute', (route) => {
    if (route.wsHandler === undefined && route.websocket !== true) return
    const preHandler = route.preHandler
    route.preHandler = preHandler === undefined ? [markWampUpgrade] : [...(Array.isArray(preHandler) ? preHandler : [preHandler]), markWampUpgrade]
  })

  const throttle = new LogThrottle()
  const stats = fastify.stats
  const quota = new UserQuota({ maxSessionsPerUser: limits.maxSessionsPerUser, maxSubscriptionsPerUser: limits.maxSubscriptionsPerUser })
  // Sessions counted in the quota (one over the limit is closed and was never counted).
  const counted = new WeakSet<WampSession>()
  fastify.decorate('userQuota', quota)
  const ctx: SessionContext = {
    hub: fastify.hub,
    broker: fastify.broker,
    policy: fastify.sessionPolicy,
    // The resolved WebSocket limits (ORO_WEBSOCKET_MAX_*), SessionLimits among them.
    limits,
    quota,
    log,
    writes: new WriteScheduler({
      onError: (err) => { log.error({ err }, 'ending a write turn failed') },
      // A fan-out yielding to the event loop keeps its frames together (see socket-writer.ts).
      holdWhile: () => fastify.hub.queued > 0
    }),
    throttle,
    stats,
    refusedPublishers: new FirstSeen()
  }
  fastify.decorate('sessions', sessions)

  function onError (this: WebSocket, err: Error & { code?: string }): void {
    const session = (this as SessionSocket)[kSession]
    try {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        stats.oversizeFrames++
        // An error: a backend's publishes after this one are lost too (it never reads, so it
        // does not see the close), and a browser never sends this much. ws does not tell the
        // message's size, only that it is over the limit.
        const backend = session.canPublish
        const setting = backend ? 'ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES' : 'ORO_WEBSOCKET_MAX_FRAME_BYTES'
        const limit = backend ? limits.backendMaxFrameBytes : limits.maxFrameBytes
        const suppressed = throttle.take(`oversize:${setting}`)
        if (suppressed >= 0) {
          log.error({ sessionId: session.id, user: session.user, address: session.address, backend, size: `over ${limit} bytes`, limit, setting, suppressed },
            `closing session with 1009: a message over ${limit} bytes (${setting})`)
        }
      } else if (throttle.take(`ws-error:${String(err.code)}`) >= 0) {
        log.info({ sessionId: session.id, user: session.user, err: err.message, code: err.code }, 'session error')
      }
    } catch (fault) {
      session.fault(fault, 'error')
    }
  }

  // ws's auto-pong would terminate a client that sends pings faster than it reads the pongs,
  // uncounted and unlogged: the same bound here, and the drop counted (ping_flood) and logged.
  function onPing (this: WebSocket, data: Buffer): void {
    const sock = this as SessionSocket
    const session = sock[kSession]
    if (!session.alive) return
    if (sock[kPendingPongs] >= MAX_PENDING_PONGS) {
      stats.pingFloodDrops++
      if (throttle.take('ping-flood') >= 0) log.info({ sessionId: session.id, user: session.user, address: session.address }, `session dropped: ping flood (${MAX_PENDING_PONGS} pongs unread)`)
      session.drop()
      return
    }
    sock[kPendingPongs]++
    this.pong(data, false, () => { sock[kPendingPongs]-- })
  }

  function onClose (this: WebSocket, code: number): void {
    const session = (this as SessionSocket)[kSession]
    sessions.delete(session)
    if (counted.delete(session)) quota.removeSession(session.identity)
    stats.connectionsClosed++
    try {
      session.closed()
      log.info({ sessionId: session.id, code }, `${session.user} disconnected`)
    } catch (err) {
      session.fault(err, 'close')
    }
  }

  fastify.decorate('acceptWamp', function acceptWamp (ws: WebSocket, socket: Socket, decision: UpgradeDecision): WampSession {
    const id = newSessionId()
    const session = new WampSession(id, ws, socket, ctx, decision.identity ?? ANONYMOUS, decision.canPublish, decision.address)
    const sock = ws as SessionSocket
    sock[kSession] = session
    sock[kPendingPongs] = 0
    // @fastify/websocket's error listener holds the request and reply for the socket's life;
    // ours keeps nothing per connection.
    sock.removeAllListeners('error')
    sock.on('error', onError)
    sock.on('message', onMessage)
    sock.on('pong', onPong)
    sock.on('ping', onPing)
    sock.on('close', onClose)
    socket.write(welcomeFrame(id, SERVER_IDENT))
    socket.uncork() // the cork taken when ws wrote the 101
    releaseUpgrade(socket)
    sessions.add(session)
    fastify.hub.addClient(session)
    stats.connectionsOpened++
    log.info({ sessionId: id, address: decision.address, backend: decision.canPublish }, `${session.user} connected`)
    // Checked before the upgrade too (routes/websocket.ts); here exactly, for upgrades that raced.
    // Backend sessions (direct from a backend network) are not counted.
    if (!decision.canPublish && quota.addSession(session.identity)) {
      counted.add(session)
    } else if (!decision.canPublish) {
      // Dropped without a close frame, as the 429 it raced past is a failed connect: the page
      // retries later instead of never coming back (oro-compat §6).
      log.notice({ sessionId: id, user: session.user, setting: 'ORO_WEBSOCKET_MAX_SESSIONS_PER_USER' }, 'session dropped: the user has too many sessions on this node (ORO_WEBSOCKET_MAX_SESSIONS_PER_USER)')
      session.drop()
      return session
    }
    // A forged ticket admitted by a stolen cookie: closed cleanly (Oro's browser code does not
    // retry). Not verified in time (or not at all: database down): dropped, so a real page reconnects.
    decision.recheck?.then((result) => {
      if (result === 'forged') session.closeWith(1008, 'ticket digest does not match')
      else if (result === 'unverified') session.drop()
    }, () => {})
    return session
  })

  const keepAlive = new KeepAlive(sessions, fastify.hub, { ...limits, log, stats })
  keepAlive.start()
  fastify.readiness.onDrain(() => {
    for (const session of sessions) session.drop()
  })
  fastify.addHook('onClose', async () => { keepAlive.stop() })
}

export default fp(websocketPlugin, { name: 'websocket', fastify: '5.x', dependencies: ['config', 'readiness', 'broker', 'topics'] })
