// One WAMP v1 session: its CURIE prefixes, its subscriptions, what it may do, and what it does
// with the frames its client sends (decoded here and turned into hub and broker calls). Every
// structure it keeps is bounded: prefixes (ORO_WEBSOCKET_MAX_PREFIXES), subscriptions
// (ORO_WEBSOCKET_MAX_SUBSCRIPTIONS), unsent bytes (ORO_WEBSOCKET_MAX_BUFFERED_BYTES beyond the
// largest unsent message), publishes
// the broker has not taken (ORO_WEBSOCKET_MAX_PENDING_PUBLISHES). Every byte it sends goes through
// its Connection (connection.ts), which knows whether the socket still takes frames.
import {
  CALL, PREFIX, PUBLISH, SUBSCRIBE, UNSUBSCRIBE,
  WampProtocolError, decodeClientMessage, encodeCallError, expandCurie, type ClientMessage
} from './codec.js'
import { textFrame } from './frame.js'
import type { Connection } from './connection.js'
import { PAUSE_RATE, PAUSE_ROOM, ROOM_WAIT_MS, PublishFlow } from './publish-flow.js'
import type { Hub, HubClient } from '../broker/hub.js'
import type { Broker, Publication } from '../broker/broker.js'
import type { GatewayStats } from '../stats.js'
import type { Log } from '../logger.js'
import type { FirstSeen } from '../first-seen.js'
import { clip, type LogThrottle } from '../log-throttle.js'

import type { Identity } from '../auth/identity.js'
import type { UserQuota } from './user-quota.js'
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
  /** CURIE prefixes one session may declare. */
  maxPrefixes: number
  /** WAMP PUBLISHes per second per backend session; 0 = no limit. */
  publishRate: number
  /** WAMP PUBLISHes of one session the broker has not taken yet, before reading pauses. */
  maxPendingPublishes: number
  /** Distinct topics this node's sessions may hold together (ORO_WEBSOCKET_MAX_TOPICS); default no limit. */
  maxTopics?: number
}

export type SessionLog = Pick<Log, 'debug' | 'info' | 'notice' | 'warn' | 'error'>

export interface SessionContext {
  hub: Hub
  broker: Broker
  policy: SessionPolicy
  limits: SessionLimits
  log: SessionLog
  /** Refusal and error lines: one per key per interval, with a count of those left out. */
  throttle: LogThrottle
  /** The app's figures (drops, refusals, publishes). */
  stats: GatewayStats
  /** (reason, address) pairs that had a publish refused: the first of each is logged at error. */
  refusedPublishers?: FirstSeen
  /** Sessions and subscriptions per user, all sessions together (none: not counted). */
  quota?: UserQuota
}

export const NO_RPC_ERROR_URI = 'http://oro-websocket-gateway/error#no-rpc'
export const PING_TOPIC = 'oro/ping'
/** The close reason of a session ended by a fault of the gateway (1011). */
export const INTERNAL_ERROR_REASON = 'internal error; reconnect'

/** Logged (warning, with the client's address) when a session that is not a backend publishes. */
export const NOT_BACKEND_MESSAGE = 'only backend sessions may publish: to let this client publish, add its address to ' +
  'ORO_WEBSOCKET_BACKEND_NETWORKS (it must connect directly, or through a proxy in ORO_WEBSOCKET_TRUSTED_PROXIES that forwards only such addresses, with a valid ticket)'

/** Why a topic may have no route here, and the fix: what a backend's refused publish says. */
export const NO_ROUTE_HINT = 'the gateway knows Oro\'s own routes, the rules of ORO_WEBSOCKET_TOPICS and, with --app-root, those of every bundle ' +
  '(Resources/config/oro/websocket_routing.yml) and of config/oro/websocket_routing/; a custom bundle\'s topic needs --app-root (the Oro application\'s root) ' +
  'or a rule in ORO_WEBSOCKET_TOPICS (docs/topics.md); until then every publish to it is lost'

type PublishMessage = Extract<ClientMessage, { type: typeof PUBLISH }>

export class WampSession implements HubClient {
  readonly id: string
  readonly identity: Identity
  /** Backend sessions may publish (decided at the upgrade from address, headers and ticket). */
  readonly canPublish: boolean
  /** Where the client really is (for logs). */
  readonly address: string
  /** Keep-alive: pongs received ever, pings unanswered in a row. */
  pongs = 0
  missedPings = 0

  readonly #connection: Connection
  readonly #ctx: SessionContext
  #prefixes: Map<string, string> | null = null
  #subscriptions: Set<string> | null = null
  #flow: PublishFlow | null = null

  constructor (id: string, connection: Connection, ctx: SessionContext, identity: Identity, canPublish: boolean, address: string) {
    this.id = id
    this.#connection = connection
    this.#ctx = ctx
    this.identity = identity
    this.canPublish = canPublish
    this.address = address
  }

  get subscriptionCount (): number { return this.#subscriptions?.size ?? 0 }
  get prefixCount (): number { return this.#prefixes?.size ?? 0 }
  /** True while reading this session's socket is paused (publishing over its limits). */
  get readingPaused (): boolean { return (this.#flow?.pausedFor ?? 0) !== 0 }
  get user (): string { return this.identity.anonymous ? 'anonymous' : this.identity.username }
  /** Its connection takes frames: no Close frame was sent or received, the socket has not ended. */
  get alive (): boolean { return this.#connection.open }

  // --- writing -------------------------------------------------------------------------------

  write (frame: Buffer): boolean {
    const connection = this.#connection
    try {
      // What earlier turns left unsent: a reader that keeps up has none, whatever one turn holds.
      // Over the cap, the session is slow only if, with this frame, it would hold more than the
      // cap beyond its largest message: one event larger than the cap (a mass edit) is not a
      // slow reader, and a reader that never reads holds at most the cap plus one message.
      const backlog = connection.backlog
      if (backlog > this.#ctx.limits.maxBufferedBytes) {
        const largest = connection.largestUnsent
        if (backlog + frame.length - (largest > frame.length ? largest : frame.length) > this.#ctx.limits.maxBufferedBytes) {
          if (connection.open) this.#dropSlow(backlog, largest)
          return false
        }
      }
      // Written only while the connection is open (no Close frame sent or received).
      return connection.send(frame)
    } catch (err) {
      this.fault(err, 'write')
      return false
    }
  }

  /** Bytes handed to the socket in earlier turns and not yet taken by the kernel. */
  get bufferedBytes (): number { return this.#connection.backlog }

  #dropSlow (backlog: number, largestMessage: number): void {
    this.#ctx.stats.slowConsumerDrops++
    const suppressed = this.#ctx.throttle.take('slow-consumer')
    if (suppressed >= 0) {
      this.#ctx.log.warn({ sessionId: this.id, user: this.user, bufferedBytes: backlog, largestMessage, cap: this.#ctx.limits.maxBufferedBytes, suppressed },
        'slow consumer dropped: unsent bytes over the cap (ORO_WEBSOCKET_MAX_BUFFERED_BYTES)')
    }
    this.drop()
  }

  /** Ends the TCP connection without a close handshake, so Oro's browser code reconnects. */
  drop (): void {
    this.#connection.drop()
  }

  /** A clean close with a code: 1007 for protocol errors, 1011 for a fault of the gateway. */
  closeWith (code: number, reason: string): void {
    this.#connection.close(code, reason)
  }

  /**
   * Something failed while handling this session (a bug, a broker or policy that threw): the
   * session ends with 1011 and the error is logged; the process and the other sessions go on.
   */
  fault (err: unknown, where: string): void {
    this.#ctx.stats.sessionFaults++
    this.#ctx.log.error({ sessionId: this.id, user: this.user, address: this.address, where, err }, `session failed in ${where}; closing it with 1011`)
    if (!this.alive) return
    try {
      this.closeWith(1011, INTERNAL_ERROR_REASON)
    } catch {
      this.drop()
    }
  }

  // --- reading -------------------------------------------------------------------------------

  handleText (text: string): void {
    // ws goes on reading until the close handshake ends: a closed session ignores what follows.
    if (!this.alive) return
    try {
      this.#handle(decodeClientMessage(text))
    } catch (err) {
      if (err instanceof WampProtocolError) this.protocolError(err.message)
      else this.fault(err, 'message')
    }
  }

  #handle (message: ClientMessage): void {
    switch (message.type) {
      case PREFIX:
        this.#prefix(message.prefix, message.uri)
        return
      case CALL:
        // Oro defines no RPC; autobahn 0.8 expects an answer to its call id.
        this.#sendText(encodeCallError(message.callId, NO_RPC_ERROR_URI, `No RPC is defined on this server: ${clip(message.procUri, 200)}`))
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
    this.#ctx.stats.protocolErrors++
    // The reason may echo what the client sent: clipped, and one line per address per interval.
    const clipped = clip(reason, 200)
    const suppressed = this.#ctx.throttle.take('protocol-error', this.address)
    if (suppressed >= 0) {
      this.#ctx.log.info({ sessionId: this.id, user: this.user, address: this.address, reason: clipped, suppressed }, `closing session: ${clipped}`)
    }
    this.closeWith(1007, reason)
  }

  #sendText (text: string): void {
    this.write(textFrame(text))
  }

  #prefix (prefix: string, uri: string): void {
    const { maxTopicLength, maxPrefixes } = this.#ctx.limits
    // A prefix or base longer than a topic may be could only make topics that are refused anyway.
    const longest = Math.max(prefix.length, uri.length)
    if (longest > maxTopicLength) {
      this.protocolError(`PREFIX of ${longest} characters is over ORO_WEBSOCKET_MAX_TOPIC_LENGTH (${maxTopicLength})`)
      return
    }
    const prefixes = (this.#prefixes ??= new Map())
    if (!prefixes.has(prefix) && prefixes.size >= maxPrefixes) {
      this.protocolError(`more than ${maxPrefixes} CURIE prefixes (ORO_WEBSOCKET_MAX_PREFIXES)`)
      return
    }
    prefixes.set(prefix, uri)
  }

  #refused (kind: 'subscribe' | 'publish', topic: string, refusal: Refusal, level: 'notice' | 'warn'): void {
    const suppressed = this.#ctx.throttle.take(`${kind}:${refusal.reason}`, this.address)
    // Past the throttle (a client can bring ever new addresses: one line stands for them all).
    if (suppressed < 0) return
    // Browsers never publish: the first refused publish of an address is a backend left outside
    // ORO_WEBSOCKET_BACKEND_NETWORKS, whose every publish is lost. A backend's publish refused
    // otherwise (no route: a custom bundle's topic without --app-root; a topic too long) is lost
    // too. Each said at error, the first per address and reason; later ones at warning.
    if (kind === 'publish' && level === 'warn' && this.#ctx.refusedPublishers?.first(`${refusal.reason} ${this.address}`) === true) {
      this.#ctx.log.error({ sessionId: this.id, user: this.user, address: this.address, topic: clip(topic, 200), reason: refusal.reason, first: true },
        `publish refused: ${refusal.message}; the first from ${this.address}, its later ones at warning, once a minute`)
      return
    }
    this.#ctx.log[level]({ sessionId: this.id, user: this.user, address: this.address, topic: clip(topic, 200), reason: refusal.reason, suppressed },
      `${kind === 'subscribe' ? 'subscription' : 'publish'} refused: ${refusal.message}`)
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
    // A new topic must fit the node's room, and the subscription the user's (all its sessions).
    if (refusal === null && limits.maxTopics !== undefined && hub.topicCount >= limits.maxTopics && hub.subscriberCount(topic) === 0) {
      refusal = { reason: 'too-many-topics', message: `this node holds ${hub.topicCount} topics, the limit (ORO_WEBSOCKET_MAX_TOPICS)` }
    }
    if (refusal === null && this.#ctx.quota?.addSubscription(this.identity) === false) {
      refusal = { reason: 'user-subscriptions', message: `user holds ${this.#ctx.quota.limits.maxSubscriptionsPerUser} subscriptions over all its sessions, the limit (ORO_WEBSOCKET_MAX_SUBSCRIPTIONS_PER_USER)` }
    }
    if (refusal !== null) {
      // Nothing is sent: autobahn 0.8 has no message for a refused subscription.
      this.#ctx.stats.subscribesRefused++
      this.#refused('subscribe', topic, refusal, 'notice')
      return
    }
    (this.#subscriptions ??= new Set()).add(topic)
    hub.subscribe(topic, this)
    log.debug({ sessionId: this.id, topic }, 'subscribed')
  }

  /**
   * The topic rules changed (a reload): ends the subscriptions the policy no longer allows.
   * Nothing is sent (autobahn 0.8 has no message for it); returns how many ended.
   */
  recheckSubscriptions (): number {
    if (this.#subscriptions === null || !this.alive) return 0
    let ended = 0
    for (const topic of [...this.#subscriptions]) {
      const refusal = this.#ctx.policy.subscribe(topic, this)
      if (refusal === null) continue
      this.#unsubscribe(topic)
      ended++
      this.#refused('subscribe', topic, { reason: refusal.reason, message: `${refusal.message} (rules reloaded; subscription ended)` }, 'notice')
    }
    return ended
  }

  #unsubscribe (topic: string): void {
    if (this.#subscriptions?.delete(topic) !== true) return
    this.#ctx.quota?.removeSubscriptions(this.identity, 1)
    this.#ctx.hub.unsubscribe(topic, this)
    this.#ctx.log.debug({ sessionId: this.id, topic }, 'unsubscribed')
  }

  #publish (topic: string, message: PublishMessage): void {
    const { policy, limits } = this.#ctx
    if (topic === PING_TOPIC) return // the server's own keep-alive topic; clients' pings are ignored
    if (!this.canPublish) {
      // Issue 11: a backend in another container lands here until its network is allowed.
      this.#ctx.stats.publishesRefused++
      this.#refused('publish', topic, { reason: 'not-backend', message: NOT_BACKEND_MESSAGE }, 'warn')
      return
    }
    let refusal: Refusal | null = topic.length > limits.maxTopicLength
      ? { reason: 'topic-too-long', message: `topic URI of ${topic.length} characters is over the limit of ${limits.maxTopicLength} (ORO_WEBSOCKET_MAX_TOPIC_LENGTH)` }
      : policy.publish(topic, this)
    if (refusal !== null) {
      this.#ctx.stats.publishesRefused++
      // Oro's backend never reads: a refused publish of a backend is lost without a trace but this
      // log line, so it is a warning (the first per address and reason an error). Only a publish
      // to the gateway's own keep-alive topic (server-only) is ignored as by design.
      if (refusal.reason === 'no-route') refusal = { reason: refusal.reason, message: `${refusal.message}: ${NO_ROUTE_HINT}` }
      this.#refused('publish', topic, refusal, refusal.reason === 'server-only' ? 'notice' : 'warn')
      return
    }
    this.#ctx.stats.publishesReceived++
    const flow = (this.#flow ??= this.#newFlow())
    const exclude = message.excludeMe ? [this.id] : message.exclude
    // Now, or once the rate allows (held in order; reading pauses meanwhile).
    flow.submit(() => {
      // A held one runs from a timer: a fault must end this session, not reach the process.
      try {
        this.#send(flow, topic, { topic, payload: message.payload, exclude, eligible: message.eligible })
      } catch (err) {
        this.fault(err, 'publish')
      }
    })
  }

  #send (flow: PublishFlow, topic: string, publication: Publication): void {
    // Taken now, or, when the hub's queue is full, held in order with what follows until it has
    // room (publish-flow.ts): Oro's PHP backend never reads, so refusing would lose it.
    flow.offer((waited) => this.#attempt(flow, topic, publication, waited), (why) => { this.#roomDropped(topic, publication, why) })
  }

  /** Hands a publication to the broker; false when the hub refused it for room (nothing taken). */
  #attempt (flow: PublishFlow, topic: string, publication: Publication, waited: boolean): boolean {
    const { broker, hub } = this.#ctx
    const refusals = hub.refusals
    flow.started()
    const taken = broker.publish(publication)
    // The memory broker hands over within this call: a refusal for room is known at once.
    if (hub.refusals !== refusals) {
      flow.settled()
      taken.catch(() => {})
      return false
    }
    taken.then(() => { this.#ctx.stats.wampPublishesOk++; flow.settled() }, (err: unknown) => {
      flow.settled()
      // The PHP backend never reads, so it cannot be told; the loss is counted and logged. When
      // Redis took the command but did not confirm it, the event may still arrive: say so.
      const unknown = (err as { code?: unknown }).code === 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN'
      if (unknown) this.#ctx.stats.publishesUnconfirmed++
      else this.#ctx.stats.publishesDropped++
      if (waited && !unknown) {
        // It waited for room and then the broker closed (shutdown) or failed: a loss, said at error.
        this.#roomDropped(topic, publication, `the broker did not take it after it waited for room: ${(err as Error).message}`, false)
        return
      }
      const suppressed = this.#ctx.throttle.take(unknown ? 'publish-unconfirmed' : 'publish-dropped')
      if (suppressed >= 0) {
        this.#ctx.log.warn({ sessionId: this.id, topic: clip(topic, 200), err, suppressed },
          unknown ? 'publish not confirmed: the broker may or may not have delivered it' : 'publish dropped: the broker did not take it')
      }
    })
    return true
  }

  /** A publication that waited for room in the hub's queue was not delivered: counted, logged at error. */
  #roomDropped (topic: string, publication: Publication, why: string, count = true): void {
    if (count) this.#ctx.stats.publishesDropped++
    const suppressed = this.#ctx.throttle.take('publish-room-dropped')
    if (suppressed < 0) return
    this.#ctx.log.error({ sessionId: this.id, address: this.address, topic: clip(topic, 200), bytes: publication.payload.length, suppressed },
      `publish dropped: ${why}; this node's fan-outs are behind (ORO_WEBSOCKET_HUB_QUEUE_BYTES)`)
  }

  #newFlow (): PublishFlow {
    const { limits, log, throttle } = this.#ctx
    return new PublishFlow({
      ratePerSecond: limits.publishRate,
      maxPending: limits.maxPendingPublishes,
      pause: () => { this.#connection.pauseReading() },
      resume: () => { this.#connection.resumeReading() },
      waitRoom: (room) => { this.#ctx.hub.whenRoom(room) },
      paused: (reason) => {
        this.#ctx.stats.publishPauses++
        if (reason === PAUSE_ROOM) {
          const suppressed = throttle.take('publish-paused:room')
          if (suppressed >= 0) {
            log.warn({ sessionId: this.id, address: this.address, setting: 'ORO_WEBSOCKET_HUB_QUEUE_BYTES', queuedBytes: this.#ctx.hub.queuedBytes, suppressed },
              `publisher paused: this node's fan-out queue is over ORO_WEBSOCKET_HUB_QUEUE_BYTES; its publications are held in order and sent once there is room (dropped, logged at error, only after waiting ${ROOM_WAIT_MS / 1000} s)`)
          }
          return
        }
        const setting = reason === PAUSE_RATE ? 'ORO_WEBSOCKET_PUBLISH_RATE_LIMIT' : 'ORO_WEBSOCKET_MAX_PENDING_PUBLISHES'
        const suppressed = throttle.take(`publish-paused:${setting}`, this.address)
        if (suppressed >= 0) {
          log.notice({ sessionId: this.id, address: this.address, setting, suppressed },
            `publisher paused: reading its socket stops until it is back under ${setting} (nothing is dropped)`)
        }
      }
    })
  }

  /** The session ended: leave every topic. */
  closed (): void {
    this.#flow?.stop()
    const subscriptions = this.#subscriptions ?? []
    this.#ctx.quota?.removeSubscriptions(this.identity, this.#subscriptions?.size ?? 0)
    this.#subscriptions = null
    this.#prefixes = null
    this.#ctx.hub.removeClient(this, subscriptions)
  }
}
