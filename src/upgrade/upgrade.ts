// A WebSocket upgrade from request to session, in the order it happens:
//
//   1. decide    (onRequest, before any byte is answered): draining? origin, admission, ticket,
//                resume cookie (authenticate.ts), the user's session quota, draining again. A
//                refusal is an HTTP answer with a GW_ERR_* code, which Oro's browser code retries.
//   2. accept    ws writes the 101 (its 'headers' event: handshake() adds the resume cookie and
//                holds the socket's writes), then the WELCOME joins it in the same write (Oro's PHP
//                client reads once, oro-compat §3).
//   3. register  the session, its socket's events, the set of open sessions, the hub, the quota;
//                and, when the socket closes, the same undone.
//
// What travels from 1 to 2 (the decision) is kept here per socket, for the moment the upgrade
// takes; the plugin (plugins/websocket.ts) and the route (routes/websocket.ts) only call in.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { RawData, WebSocket } from 'ws'
import { Connection, MAX_PENDING_PONGS, holdHandshake } from '../wamp/connection.js'
import type { WriteScheduler } from '../wamp/socket-writer.js'
import { oversizeOf, setMessageLimit } from '../wamp/message-limit.js'
import { WampSession, type SessionContext, type SessionLog } from '../wamp/session.js'
import type { UserQuota } from '../wamp/user-quota.js'
import { KeepAlive } from '../wamp/keepalive.js'
import { welcomeFrame } from '../wamp/welcome.js'
import type { LogThrottle } from '../log-throttle.js'
import type { GatewayStats } from '../stats.js'
import { GW_ERR_SHUTTING_DOWN, GW_ERR_USER_SESSIONS } from '../errors.js'
import { refused, type Authenticate, type UpgradeDecision, type UpgradeRequest, type Verdict } from './decision.js'

export interface UpgradeOptions {
  authenticate: Authenticate
  /** True once the gateway drains: upgrades are refused (the client retries another node, or this one restarted). */
  draining: () => boolean
  /** How long authenticate took, whatever it answered (oro_ws_upgrade_auth_seconds). */
  onAuthenticated?: (outcome: 'accepted' | 'refused', seconds: number) => void
  /** What every session shares (hub, broker, policy, limits, log, throttle, quota). */
  context: SessionContext
  /** Ends every connection's write turn. */
  writes: WriteScheduler
  quota: UserQuota
  /** Largest message of a browser session and of a backend session. */
  limits: { maxFrameBytes: number, backendMaxFrameBytes: number }
  /** The WELCOME's server ident. */
  ident: string
  log: SessionLog
  throttle: LogThrottle
}

export function newSessionId (): string {
  // 144 random bits, URL-safe, 24 characters: unique across every node of a cluster.
  return randomBytes(18).toString('base64url')
}

// @fastify/websocket hands the socket to an HTTP response for routing the upgrade; that response
// stays on the socket for the connection's life and with it the request, its headers and raw
// bytes, Fastify's request, reply and child logger (about 3 KB a connection). The session needs
// none of them: detach the response so they can be collected.
function releaseUpgrade (socket: Socket): void {
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (response != null) response.detachSocket(socket)
}

export class Upgrade {
  /** Open sessions (dropped all at once when the gateway drains). */
  readonly sessions = new Set<WampSession>()
  readonly #options: UpgradeOptions
  /** Decisions between decide and accept, by the client's socket. */
  readonly #pending = new WeakMap<Socket, UpgradeDecision>()
  /** Sessions counted in the quota (one over the limit is dropped and was never counted). */
  readonly #counted = new WeakSet<WampSession>()

  constructor (options: UpgradeOptions) {
    this.#options = options
  }

  // --- 1. decide ------------------------------------------------------------------------------

  async decide (request: UpgradeRequest): Promise<Verdict> {
    const { draining, quota } = this.#options
    if (draining()) return refuseDraining(this.stats)
    const verdict = await this.#authenticate(request)
    if (!verdict.accepted) return verdict
    const decision = verdict.decision
    // One user's browser sessions on this node are bounded (backends are not counted).
    if (!decision.canPublish && !quota.maySession(decision.identity)) {
      this.stats.upgradeRefused('GW_ERR_USER_SESSIONS')
      return refused(new GW_ERR_USER_SESSIONS(quota.sessions(decision.identity)), '60')
    }
    // The drain may have begun (and dropped every session) while the ticket was verified: a
    // session accepted now would outlive the drop loop.
    if (draining()) return refuseDraining(this.stats)
    this.#pending.set(request.socket, decision)
    // A backend's messages may be larger; ws reads the limit as it wires the socket (message-limit.ts).
    if (decision.canPublish) setMessageLimit(request.socket, this.#options.limits.backendMaxFrameBytes)
    return verdict
  }

  async #authenticate (request: UpgradeRequest): Promise<Verdict> {
    const { authenticate, onAuthenticated } = this.#options
    const started = performance.now()
    let outcome: 'accepted' | 'refused' = 'refused'
    try {
      const verdict = await authenticate(request)
      if (verdict.accepted) outcome = 'accepted'
      return verdict
    } finally {
      onAuthenticated?.(outcome, (performance.now() - started) / 1000)
    }
  }

  // --- 2. accept ------------------------------------------------------------------------------

  /**
   * ws is about to write the 101 (its 'headers' event). Only an upgrade decided here is held: one
   * to an HTTP route (/healthz) is closed by @fastify/websocket at once, and a hold nobody lifts
   * would keep its 101 and Close frame until ws's 30 s close timeout.
   */
  handshake (headers: string[], request: IncomingMessage): void {
    const decision = this.#pending.get(request.socket)
    if (decision === undefined) return
    if (decision.setCookie !== undefined) headers.push(`Set-Cookie: ${decision.setCookie}`)
    holdHandshake(request.socket)
  }

  /** The 101 is written (held): the WELCOME joins it, and the session is registered. */
  accept (ws: WebSocket, socket: Socket): WampSession | null {
    const decision = this.#pending.get(socket)
    if (decision === undefined) {
      ws.terminate()
      return null
    }
    this.#pending.delete(socket)
    const connection = new Connection(ws, socket, this.#options.writes)
    const session = new WampSession(newSessionId(), connection, this.#options.context, decision.identity, decision.canPublish, decision.address)
    this.#listen(ws, session, connection)
    connection.welcome(welcomeFrame(session.id, this.#options.ident))
    releaseUpgrade(socket)
    this.#register(session, decision)
    return session
  }

  // --- 3. register ----------------------------------------------------------------------------

  #register (session: WampSession, decision: UpgradeDecision): void {
    const { context, quota, log } = this.#options
    this.sessions.add(session)
    context.hub.addClient(session)
    context.stats.connectionsOpened++
    log.info({ sessionId: session.id, address: decision.address, backend: decision.canPublish }, `${session.user} connected`)
    // Checked in decide too; here exactly, for upgrades that raced. Backend sessions (direct from
    // a backend network) are not counted.
    if (!decision.canPublish && quota.addSession(session.identity)) {
      this.#counted.add(session)
    } else if (!decision.canPublish) {
      // Dropped without a close frame, as the 429 it raced past is a failed connect: the page
      // retries later instead of never coming back (oro-compat §6).
      log.notice({ sessionId: session.id, user: session.user, setting: 'ORO_WEBSOCKET_MAX_SESSIONS_PER_USER' }, 'session dropped: the user has too many sessions on this node (ORO_WEBSOCKET_MAX_SESSIONS_PER_USER)')
      session.drop()
      return
    }
    // A forged ticket admitted by a stolen cookie: closed cleanly (Oro's browser code does not
    // retry). Not verified in time (or not at all: database down): dropped, so a real page reconnects.
    decision.recheck?.then((result) => {
      if (result === 'forged') session.closeWith(1008, 'ticket digest does not match')
      else if (result === 'unverified') session.drop()
    }, () => {})
  }

  #unregister (session: WampSession, code: number): void {
    this.sessions.delete(session)
    if (this.#counted.delete(session)) this.#options.quota.removeSession(session.identity)
    this.stats.connectionsClosed++
    try {
      session.closed()
      this.#options.log.info({ sessionId: session.id, code }, `${session.user} disconnected`)
    } catch (err) {
      session.fault(err, 'close')
    }
  }

  /** Drops every session (the gateway drains or shuts down): no Close frame, Oro's pages reconnect. */
  dropAll (): void {
    for (const session of this.sessions) session.drop()
  }

  // --- the socket's events --------------------------------------------------------------------

  #listen (ws: WebSocket, session: WampSession, connection: Connection): void {
    registered.set(ws, { session, connection, upgrade: this })
    // @fastify/websocket's error listener holds the request and reply for the socket's life;
    // ours keeps nothing per connection.
    ws.removeAllListeners('error')
    ws.on('error', onError)
    ws.on('message', onMessage)
    ws.on('pong', onPong)
    ws.on('ping', onPing)
    ws.on('close', onClose)
  }

  /** For the socket listeners below. */
  get log (): SessionLog { return this.#options.log }
  get throttle (): LogThrottle { return this.#options.throttle }
  get limits (): UpgradeOptions['limits'] { return this.#options.limits }
  /** The app's figures (src/stats.ts), carried by the sessions' context. */
  get stats (): GatewayStats { return this.#options.context.stats }
  /** The socket closed: the session ends (called by its 'close' listener). */
  closed (session: WampSession, code: number): void { this.#unregister(session, code) }
}

// Each socket's session, for its event listeners: shared functions (`this` is the WebSocket), no
// closure per connection. Whatever fails inside one ends that session (1011, see
// WampSession.fault), never the process: an exception thrown from a ws listener would reach
// uncaughtException.
interface Registered { session: WampSession, connection: Connection, upgrade: Upgrade }
const registered = new WeakMap<WebSocket, Registered>()

function of (ws: WebSocket): Registered {
  return registered.get(ws) as Registered
}

function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
  const { session } = of(this)
  if (!session.alive) return
  if (isBinary) {
    session.protocolError('binary frames are not WAMP v1; send JSON text frames')
    return
  }
  session.handleText(data.toString()) // catches its own faults
}

function onPong (this: WebSocket): void {
  const { session } = of(this)
  try {
    KeepAlive.pong(session)
  } catch (err) {
    session.fault(err, 'pong')
  }
}

// ws's auto-pong would terminate a client that sends pings faster than it reads the pongs,
// uncounted and unlogged: the connection keeps the same bound (MAX_PENDING_PONGS), and the drop
// is counted (ping_flood) and logged here.
function onPing (this: WebSocket, data: Buffer): void {
  const { session, connection, upgrade } = of(this)
  if (connection.pong(data)) return
  upgrade.stats.pingFloodDrops++
  if (upgrade.throttle.take('ping-flood') >= 0) upgrade.log.info({ sessionId: session.id, user: session.user, address: session.address }, `session dropped: ping flood (${MAX_PENDING_PONGS} pongs unread)`)
  session.drop()
}

function onError (this: WebSocket, err: Error & { code?: string }): void {
  const { session, upgrade } = of(this)
  const { log, throttle, limits } = upgrade
  try {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      upgrade.stats.oversizeFrames++
      // An error: a backend's publishes after this one are lost too (it never reads, so it
      // does not see the close), and a browser never sends this much. The size is what the
      // frames' headers announced (ws stops before reading the payload over the limit): the
      // message's size when that frame was its last (sizeExact), else how far it had got.
      const backend = session.canPublish
      const setting = backend ? 'ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES' : 'ORO_WEBSOCKET_MAX_FRAME_BYTES'
      const limit = backend ? limits.backendMaxFrameBytes : limits.maxFrameBytes
      const { bytes, exact } = oversizeOf(this)
      const suppressed = throttle.take(`oversize:${setting}`)
      if (suppressed >= 0) {
        const size = bytes === 0 ? `over ${limit} bytes` : exact ? `${bytes} bytes` : `at least ${bytes} bytes (a fragmented message, stopped before its last frame)`
        log.error({ sessionId: session.id, user: session.user, address: session.address, backend, size: bytes === 0 ? null : bytes, sizeExact: exact, limit, setting, suppressed },
          `closing session with 1009: a message of ${size}, over the limit of ${limit} bytes (${setting})`)
      }
    } else if (throttle.take(`ws-error:${String(err.code)}`) >= 0) {
      log.info({ sessionId: session.id, user: session.user, err: err.message, code: err.code }, 'session error')
    }
  } catch (fault) {
    session.fault(fault, 'error')
  }
}

function onClose (this: WebSocket, code: number): void {
  const { session, upgrade } = of(this)
  upgrade.closed(session, code)
}

// Only an upgrade on a connection accepted before the drain closed the listener (server.ts), or
// one whose ticket was being verified when it began, meets this: the client retries, reaching
// another node or this one restarted.
function refuseDraining (stats: GatewayStats): Verdict {
  stats.upgradeRefused('shutting_down')
  return refused(new GW_ERR_SHUTTING_DOWN(), '2')
}
