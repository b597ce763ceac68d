// One WAMP v1 session: its CURIE prefixes, its subscriptions, what it may do, and how bytes reach
// its socket. Frames from the client are decoded here and turned into hub and broker calls.
// Writes are corked per socket and flushed once per event-loop turn, so a burst of events leaves
// in one syscall per socket; a socket whose unsent bytes pass the cap is dropped.
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import {
  CALL, PREFIX, PUBLISH, SUBSCRIBE, UNSUBSCRIBE,
  WampProtocolError, decodeClientMessage, encodeCallError, expandCurie, type ClientMessage
} from './codec.js'
import { textFrame } from './frame.js'
import type { Hub, HubClient } from '../broker/hub.js'
import type { Broker } from '../broker/broker.js'
import { counters } from '../metrics.js'
import type { Log } from '../logger.js'

import type { Identity } from '../auth/identity.js'
export { ANONYMOUS, type Identity } from '../auth/identity.js'

export interface Refusal {
  reason: string
  message: string
}

/** Who may subscribe and publish where (topic routing, private topics, backend sessions). */
export interface SessionPolicy {
  subscribe (topic: string, session: WampSession): Refusal | null
  publish (topic: string, session: WampSession): Refusal | null
}

export interface SessionLimits {
  maxTopicLength: number
  maxSubscriptions: number
  maxBufferedBytes: number
}

export type SessionLog = Pick<Log, 'debug' | 'info' | 'notice' | 'warn'>

export interface SessionContext {
  hub: Hub
  broker: Broker
  policy: SessionPolicy
  limits: SessionLimits
  log: SessionLog
}

export const NO_RPC_ERROR_URI = 'http://oro-websocket-gateway/error#no-rpc'
export const PING_TOPIC = 'oro/ping'

// Where a session's writes are in the current event-loop turn.
const TURN_IDLE = 0
const TURN_WROTE = 1
const TURN_CORKED = 2

// Sessions written to during this event-loop turn. The first frame of a turn goes straight to
// the socket (one syscall, no waiting: the fixed-rate case); a second frame in the same turn corks
// the socket, and the rest of the turn's frames leave together when the turn ends (bursts).
const touched: WampSession[] = []
let flushScheduled = false
// The clock (ms) of the current turn, read once per turn. A socket that was written to in a turn
// less than BURST_MS before is in a burst: its first frame of this turn is held too, so every
// frame of the turn leaves in one writev (one syscall instead of two per turn).
let turnTime = 0
const BURST_MS = 1

function flushTouched (): void {
  flushScheduled = false
  for (let i = 0; i < touched.length; i++) (touched[i] as WampSession).endTurn()
  touched.length = 0
}

export class WampSession implements HubClient {
  readonly id: string
  readonly identity: Identity
  /** Backend sessions may publish (decided at the upgrade from address, headers and ticket). */
  readonly canPublish: boolean
  /** Where the client really is (for logs). */
  readonly address: string
  alive = true
  /** Keep-alive: pongs received ever, pings unanswered in a row. */
  pongs = 0
  missedPings = 0

  readonly #ws: WebSocket
  readonly #socket: Socket
  readonly #ctx: SessionContext
  #prefixes: Map<string, string> | null = null
  #subscriptions: Set<string> | null = null
  #turn = TURN_IDLE
  #lastTurnTime = -Infinity

  constructor (id: string, ws: WebSocket, socket: Socket, ctx: SessionContext, identity: Identity, canPublish: boolean, address: string) {
    this.id = id
    this.#ws = ws
    this.#socket = socket
    this.#ctx = ctx
    this.identity = identity
    this.canPublish = canPublish
    this.address = address
  }

  get subscriptionCount (): number { return this.#subscriptions?.size ?? 0 }
  get user (): string { return this.identity.anonymous ? 'anonymous' : this.identity.username }

  // --- writing -------------------------------------------------------------------------------

  write (frame: Buffer): boolean {
    if (!this.alive) return false
    const socket = this.#socket
    if (socket.writableLength + frame.length > this.#ctx.limits.maxBufferedBytes) {
      this.#dropSlow(socket.writableLength)
      return false
    }
    const turn = this.#turn
    if (turn === TURN_CORKED) {
      socket.write(frame)
      return true
    }
    if (turn === TURN_IDLE) {
      touched.push(this)
      if (!flushScheduled) {
        flushScheduled = true
        turnTime = Date.now()
        setImmediate(flushTouched)
      }
      const inBurst = turnTime - this.#lastTurnTime <= BURST_MS
      this.#lastTurnTime = turnTime
      if (inBurst) {
        this.#turn = TURN_CORKED
        socket.cork()
      } else {
        this.#turn = TURN_WROTE
      }
    } else {
      this.#turn = TURN_CORKED
      socket.cork()
    }
    socket.write(frame)
    return true
  }

  /** The event-loop turn ended: frames held since the second one of the turn leave now. */
  endTurn (): void {
    if (this.#turn === TURN_CORKED) this.#socket.uncork()
    this.#turn = TURN_IDLE
  }

  /** Bytes written but not yet taken by the kernel. */
  get bufferedBytes (): number { return this.#socket.writableLength }

  #dropSlow (buffered: number): void {
    counters.slowConsumerDrops++
    this.#ctx.log.warn({ sessionId: this.id, user: this.user, bufferedBytes: buffered, cap: this.#ctx.limits.maxBufferedBytes },
      'slow consumer dropped: unsent bytes over the cap (ORO_WEBSOCKET_MAX_BUFFERED_BYTES)')
    this.drop()
  }

  /** Ends the TCP connection without a close handshake, so Oro's browser code reconnects. */
  drop (): void {
    if (!this.alive) return
    this.alive = false
    this.#ws.terminate()
  }

  /** A clean close with a code, for protocol errors (1007). */
  closeWith (code: number, reason: string): void {
    if (!this.alive) return
    this.alive = false
    // A close reason has at most 123 bytes.
    this.#ws.close(code, Buffer.from(reason).subarray(0, 123).toString())
  }

  // --- reading -------------------------------------------------------------------------------

  handleText (text: string): void {
    let message: ClientMessage
    try {
      message = decodeClientMessage(text)
    } catch (err) {
      if (!(err instanceof WampProtocolError)) throw err
      this.protocolError(err.message)
      return
    }
    switch (message.type) {
      case PREFIX:
        (this.#prefixes ??= new Map()).set(message.prefix, message.uri)
        return
      case CALL:
        // Oro defines no RPC; autobahn 0.8 expects an answer to its call id.
        this.#sendText(encodeCallError(message.callId, NO_RPC_ERROR_URI, `No RPC is defined on this server: ${message.procUri}`))
        return
      case SUBSCRIBE:
        this.#subscribe(expandCurie(message.topic, this.#prefixes))
        return
      case UNSUBSCRIBE:
        this.#unsubscribe(expandCurie(message.topic, this.#prefixes))
        return
      case PUBLISH:
        this.#publish(expandCurie(message.topic, this.#prefixes), message)
    }
  }

  protocolError (reason: string): void {
    counters.protocolErrors++
    this.#ctx.log.info({ sessionId: this.id, user: this.user, reason }, `closing session: ${reason}`)
    this.closeWith(1007, reason)
  }

  #sendText (text: string): void {
    this.write(textFrame(text))
  }

  #subscribe (topic: string): void {
    const { limits, policy, hub, log } = this.#ctx
    if (this.#subscriptions?.has(topic) === true) return
    let refusal: Refusal | null = null
    if (topic.length > limits.maxTopicLength) {
      refusal = { reason: 'topic-too-long', message: `topic URI of ${topic.length} characters is over the limit of ${limits.maxTopicLength} (ORO_WEBSOCKET_MAX_TOPIC_LENGTH)` }
    } else if (this.subscriptionCount >= limits.maxSubscriptions) {
      refusal = { reason: 'too-many-subscriptions', message: `session has ${this.subscriptionCount} subscriptions, the limit (ORO_WEBSOCKET_MAX_SUBSCRIPTIONS)` }
    } else {
      refusal = policy.subscribe(topic, this)
    }
    if (refusal !== null) {
      // Nothing is sent: autobahn 0.8 has no message for a refused subscription.
      counters.subscribesRefused++
      log.notice({ sessionId: this.id, user: this.user, topic: topic.slice(0, 200), reason: refusal.reason }, `subscription refused: ${refusal.message}`)
      return
    }
    (this.#subscriptions ??= new Set()).add(topic)
    hub.subscribe(topic, this)
    log.debug({ sessionId: this.id, topic }, 'subscribed')
  }

  #unsubscribe (topic: string): void {
    if (this.#subscriptions?.delete(topic) !== true) return
    this.#ctx.hub.unsubscribe(topic, this)
    this.#ctx.log.debug({ sessionId: this.id, topic }, 'unsubscribed')
  }

  #publish (topic: string, message: Extract<ClientMessage, { type: typeof PUBLISH }>): void {
    const { policy, broker, log } = this.#ctx
    if (topic === PING_TOPIC) return // the server's own keep-alive topic; clients' pings are ignored
    const refusal: Refusal | null = this.canPublish
      ? policy.publish(topic, this)
      : { reason: 'not-backend', message: 'only backend sessions may publish (see ORO_WEBSOCKET_BACKEND_NETWORKS)' }
    if (refusal !== null) {
      counters.publishesRefused++
      log.notice({ sessionId: this.id, user: this.user, address: this.address, topic: topic.slice(0, 200), reason: refusal.reason }, `publish refused: ${refusal.message}`)
      return
    }
    counters.publishesReceived++
    const exclude = message.excludeMe ? [this.id] : message.exclude
    broker.publish({ topic, payload: message.payload, exclude, eligible: message.eligible }).catch((err: unknown) => {
      // The PHP backend never reads, so it cannot be told; the loss is counted and logged.
      counters.publishesDropped++
      log.warn({ sessionId: this.id, topic, err }, 'publish dropped: the broker did not take it')
    })
  }

  /** The session ended: leave every topic. */
  closed (): void {
    this.alive = false
    this.#ctx.hub.removeClient(this, this.#subscriptions ?? [])
    this.#subscriptions = null
  }
}
