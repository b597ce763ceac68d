// Many nodes as one, on Redis pub/sub (Centrifuge's Redis engine, simplified). Each topic is a
// Redis channel (prefix + topic). A node SUBSCRIBEs to a channel while its hub has a local
// subscriber of the topic and UNSUBSCRIBEs when the last one leaves. Every node, the publishing
// one included, delivers from the Redis message: per topic and publisher the order is Redis's,
// and each subscriber gets each event once. Redis Cluster uses sharded pub/sub (SPUBLISH,
// SSUBSCRIBE), so a channel lives on the shard that owns its slot.
//
// Two connections: one publishes, one subscribes (a subscribed connection takes no other
// commands, and a busy publisher must not delay incoming events). Nothing waits for Redis: the
// offline queue is off and commands time out, so publish() rejects at once while Redis is down.
// A rejection says "not delivered" only when that is certain (publish-outcome.ts); a connection
// that owes an answer for over a second makes the node unready, so publications are refused
// before they are sent instead of timing out with an unknown outcome. Publications made under an
// Idempotency-Key carry an id, and each node delivers an id once: a retry after an unknown outcome
// is not delivered twice.
// Resubscription is ours, not ioredis' (autoResubscribe off): on every (re)connect the node
// subscribes to exactly the topics its hub has now, and is not ready until Redis confirmed them.
// A SUBSCRIBE Redis refuses on a live connection (an ACL without the channel, OOM, ...) is
// retried every second and keeps the node unready (/readyz names it) until Redis takes it: its
// local subscribers would otherwise get nothing. Between a local subscribe and Redis confirming
// it, events published through Redis are not heard (pub/sub keeps no history); a publication
// made on this node waits for that confirmation, so its own subscribers get it (docs/scale-out.md).
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { Broker, Publication, PublicationHandler, PublishReceipt } from './broker.js'
import { describeTarget, type BrokerTarget } from './redis-dsn.js'
import { isRedisReply, publishFailure } from './publish-outcome.js'
import { ReplyWatch } from './reply-watch.js'
import { ExpiringMap } from '../publish/expiring-map.js'
import { IDEMPOTENCY_WINDOW_MS, storeFull } from '../publish/idempotency.js'
import { GatewayStats } from '../stats.js'
import { GW_ERR_BROKER_UNAVAILABLE } from '../errors.js'
import type { Log } from '../logger.js'

export type RedisTarget = Exclude<BrokerTarget, { kind: 'memory' }>

export type BrokerLog = Pick<Log, 'info' | 'warn' | 'error'>

export interface RedisBrokerOptions {
  target: RedisTarget
  /** Channel (and key) prefix, so several gateways can share a Redis. */
  prefix: string
  /** Hands a publication to the node's hub; returns how many sessions it was written to. */
  deliver: PublicationHandler
  log: BrokerLog
  /** The app's figures (publications shed); its own when not given (tests). */
  stats?: GatewayStats
  /** A command Redis does not answer within this fails (publish rejects). */
  commandTimeoutMs?: number
  /** Longest wait between reconnection attempts. */
  maxRetryDelayMs?: number
  /**
   * After an outage, how long the node waits once it is back before it takes publications again,
   * so that the other nodes (retrying on their own timers) have resubscribed by then.
   */
  settleMs?: number
  /**
   * How often each connection is PINGed (ms; 0 = never). A connection that does not answer within
   * the command timeout is dropped and reconnected: a silently broken TCP connection (a NAT or
   * firewall that forgot it, a frozen Redis) would otherwise look "ready" for minutes.
   */
  heartbeatMs?: number
  /**
   * A connection that has owed an answer this long (ms) makes the node unready (/readyz 503,
   * publications refused before they are sent). Needs the heartbeat: its PINGs are what ends the
   * silence once Redis answers again. Not used with Redis Cluster.
   */
  stallMs?: number
}

/**
 * Memory for the ids of keyed publications this node delivered within the idempotency window
 * (about 290 bytes an id, measured: ~230,000 ids in 5 minutes). Nothing is forgotten early: when it is
 * spent, this node refuses keyed POST /publish (503) and does not deliver keyed events it could
 * not remember (counted as shed), rather than risk delivering a retry twice.
 */
const SEEN_IDS_MAX_BYTES = 64 * 1024 * 1024
const SEEN_ID_BYTES = 240

/** Channels per SUBSCRIBE command when resubscribing many topics. */
const SUBSCRIBE_CHUNK = 1000

/** Delay before a SUBSCRIBE Redis refused is sent again. */
const SUBSCRIBE_RETRY_MS = 1000

type Connection = Redis | Cluster

// --- the wire format -------------------------------------------------------------------------
// One Redis message per publication, made once: a header line, '\n', then the payload's JSON text
// as it came (never parsed or re-serialized). The header is empty when there is neither exclude
// nor eligible nor id, else a JSON object {"x": [...exclude], "e": [...eligible], "i": id}.
// JSON.stringify never writes a raw newline, so the first '\n' ends the header.

export function encodePublication (publication: Publication): string {
  const { exclude, eligible, id } = publication
  const hasExclude = exclude !== undefined && exclude !== null && exclude.length > 0
  const hasEligible = eligible !== undefined && eligible !== null && eligible.length > 0
  if (!hasExclude && !hasEligible && id === undefined) return '\n' + publication.payload
  const header: { x?: readonly string[], e?: readonly string[], i?: string } = {}
  if (hasExclude) header.x = exclude
  if (hasEligible) header.e = eligible
  if (id !== undefined) header.i = id
  return JSON.stringify(header) + '\n' + publication.payload
}

/** The publication in a Redis message, or null when the message is not in this format. */
export function decodePublication (topic: string, message: string): Publication | null {
  const newline = message.indexOf('\n')
  if (newline === -1) return null
  const payload = message.slice(newline + 1)
  if (newline === 0) return { topic, payload }
  let header: unknown
  try {
    header = JSON.parse(message.slice(0, newline))
  } catch {
    return null
  }
  if (header === null || typeof header !== 'object') return null
  const { x, e, i } = header as { x?: unknown, e?: unknown, i?: unknown }
  const publication: Publication = { topic, payload, exclude: stringList(x), eligible: stringList(e) }
  if (typeof i === 'string') publication.id = i
  return publication
}

function stringList (value: unknown): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null
}

// --- the broker ------------------------------------------------------------------------------

export class RedisBroker implements Broker {
  readonly #prefix: string
  readonly #deliver: PublicationHandler
  readonly #log: BrokerLog
  readonly #stats: GatewayStats
  readonly #sharded: boolean
  readonly #settleMs: number
  readonly #publisher: Connection
  readonly #subscriber: Connection
  /** Topics the hub has local subscribers for: what this node must be subscribed to. */
  readonly #topics = new Set<string>()
  /** Cluster only: topics handed to the Cluster client's sharded subscribers (it keeps them). */
  readonly #shardTopics = new Set<string>()
  /** Redis confirmed the subscriptions of the current subscriber connection. */
  #subscribed = false
  /** Bumped on every subscriber (re)connect, so a late answer from an old one is ignored. */
  #generation = 0
  #lastError: string | null = null
  /** Since when the node is back after an outage (settling), or 0. */
  #backSince = 0
  #wasDown = false
  #everReady = false
  #closed = false
  #heartbeat: NodeJS.Timeout | null = null
  /** Topics whose SUBSCRIBE Redis refused on a live connection, with why; retried. */
  readonly #refused = new Map<string, string>()
  #retry: NodeJS.Timeout | null = null
  /** Topics whose SUBSCRIBE is on its way: this node's publications to them wait for it. */
  readonly #confirming = new Map<string, Promise<unknown>>()
  readonly #stallMs: number
  readonly #publisherWatch = new ReplyWatch()
  readonly #subscriberWatch = new ReplyWatch()
  readonly #seenIds = new ExpiringMap<true>(IDEMPOTENCY_WINDOW_MS, SEEN_IDS_MAX_BYTES)
  #seenIdsFullLogged = 0

  constructor (options: RedisBrokerOptions) {
    const { target } = options
    this.#prefix = options.prefix
    this.#deliver = options.deliver
    this.#log = options.log
    this.#stats = options.stats ?? new GatewayStats()
    this.#sharded = target.kind === 'cluster'
    const maxRetryDelayMs = options.maxRetryDelayMs ?? 500
    this.#settleMs = options.settleMs ?? maxRetryDelayMs + 250
    const common: RedisOptions = {
      // Fail instead of queueing while disconnected; in-flight commands fail when the connection
      // drops (no retries, no resending: the caller answers 503 and the publisher retries).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: 5000,
      retryStrategy: (times: number) => Math.min(times * 100, maxRetryDelayMs),
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {})
    }
    if (target.kind === 'cluster') {
      // The Cluster client sets the offline queue and retries of its node connections itself.
      const { enableOfflineQueue: _queue, retryStrategy: _retry, ...nodeOptions } = common
      const clusterOptions: ClusterOptions = {
        shardedSubscribers: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: (times: number) => Math.min(times * 100, maxRetryDelayMs),
        redisOptions: nodeOptions
      }
      // One Cluster client: it keeps a sharded subscriber per master and resubscribes them when
      // the slots move; its own connections publish.
      const cluster = new Cluster(target.nodes, clusterOptions)
      this.#publisher = cluster
      this.#subscriber = cluster
      cluster.on('smessage', (channel: string, message: string) => this.#onMessage(channel, message))
    } else {
      const options: RedisOptions = target.kind === 'redis'
        ? { ...common, host: target.host, port: target.port, db: target.db }
        : {
            ...common,
            sentinels: target.sentinels,
            name: target.name,
            db: target.db,
            ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
            ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
            ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
            sentinelRetryStrategy: (times: number) => Math.min(times * 100, maxRetryDelayMs)
          }
      this.#publisher = new Redis({ ...options, connectionName: 'oro-ws-publisher' })
      this.#subscriber = new Redis({ ...options, connectionName: 'oro-ws-subscriber' })
      this.#subscriber.on('message', (channel: string, message: string) => this.#onMessage(channel, message))
    }
    this.#watch(this.#publisher, 'publisher')
    if (this.#subscriber !== this.#publisher) this.#watch(this.#subscriber, 'subscriber')
    this.#publisher.on('ready', () => { this.#publisherWatch.reset() })
    this.#subscriber.on('ready', () => { this.#subscriberWatch.reset(); this.#resubscribe() })
    const heartbeatMs = options.heartbeatMs ?? 500
    this.#stallMs = heartbeatMs > 0 && !this.#sharded ? options.stallMs ?? 1000 : 0
    if (heartbeatMs > 0 && !this.#sharded) {
      this.#heartbeat = setInterval(() => { this.#beat() }, heartbeatMs)
      this.#heartbeat.unref()
    }
    this.#log.info({ redis: describeTarget(target), prefix: this.#prefix }, 'broker: connecting to Redis')
  }

  /** PING both connections (PING is allowed in subscriber mode); drop one that does not answer. */
  #beat (): void {
    const connections = this.#subscriber === this.#publisher ? [this.#publisher] : [this.#publisher, this.#subscriber]
    for (const connection of connections) {
      if (connection.status !== 'ready') continue
      this.#watchOf(connection).track((connection as Redis).ping(), isRedisReply).catch((err: Error) => {
        if (this.#closed || connection.status !== 'ready') return
        this.#log.warn({ err: err.message }, 'broker: Redis did not answer a PING; reconnecting')
        connection.disconnect(true)
      })
    }
  }

  /** The publisher connection, for other cluster-wide state (Idempotency-Key answers). */
  get redis (): Connection { return this.#publisher }

  async publish (publication: Publication): Promise<PublishReceipt> {
    const readiness = this.readiness()
    if (readiness !== 'ok') throw new GW_ERR_BROKER_UNAVAILABLE(readiness)
    if (publication.id !== undefined) this.#roomForIds([publication])
    // A local subscriber whose SUBSCRIBE Redis has not confirmed yet would miss it.
    if (this.#confirming.size > 0) await this.#confirmed([publication])
    try {
      await this.#send(publication)
    } catch (err) {
      throw publishFailure(err)
    }
    // Sessions on other nodes are not counted: the receipt has no `recipients` with Redis.
    return {}
  }

  #send (publication: Publication): Promise<unknown> {
    const channel = this.#prefix + publication.topic
    const message = encodePublication(publication)
    if (this.#sharded) return (this.#publisher as Cluster).spublish(channel, message)
    return this.#publisherWatch.track(this.#publisher.publish(channel, message), isRedisReply)
  }

  async publishBatch (publications: readonly Publication[]): Promise<PublishReceipt> {
    if (publications.length === 1) return this.publish(publications[0] as Publication)
    // Redis Cluster: the topics' channels may live on different shards, so no MULTI; they go one
    // after the other and a failure part-way leaves the first ones published (documented).
    const readiness = this.readiness()
    if (readiness !== 'ok') throw new GW_ERR_BROKER_UNAVAILABLE(readiness)
    if (publications[0]?.id !== undefined) this.#roomForIds(publications)
    if (this.#confirming.size > 0) await this.#confirmed(publications)
    if (this.#sharded) {
      let delivered = 0
      for (const publication of publications) {
        try {
          await this.#send(publication)
        } catch (err) {
          throw publishFailure(err, delivered)
        }
        delivered++
      }
      return {}
    }
    // One MULTI/EXEC: Redis takes every PUBLISH of the request or none.
    const transaction = (this.#publisher as Redis).multi()
    for (const publication of publications) transaction.publish(this.#prefix + publication.topic, encodePublication(publication))
    let results: Array<[Error | null, unknown]> | null
    try {
      results = await this.#publisherWatch.track(transaction.exec(), isRedisReply)
    } catch (err) {
      throw publishFailure(err)
    }
    // EXEC ran: a command that failed inside it did not stop the others.
    if (results === null) throw new GW_ERR_BROKER_UNAVAILABLE('redis: the transaction was aborted')
    const failed = results.find(([error]) => error !== null)?.[0]
    if (failed != null) throw publishFailure(failed, results.filter(([error]) => error === null).length)
    return {}
  }

  /** Keyed publications need room for their ids here (as on every node): refused when there is none. */
  #roomForIds (publications: readonly Publication[]): void {
    let bytes = 0
    for (const { id } of publications) if (id !== undefined) bytes += SEEN_ID_BYTES + 2 * id.length
    if (!this.#seenIds.fits(bytes)) throw storeFull(this.#seenIds.size, this.#seenIds.oldestExpiresInMs())
  }

  subscribe (topic: string): void {
    if (this.#topics.has(topic)) return
    this.#topics.add(topic)
    // While the subscriber is not ready, the (re)connect subscribes every topic in the set.
    if (this.#subscriber.status === 'ready') this.#command('subscribe', [topic])
  }

  unsubscribe (topic: string): void {
    if (!this.#topics.delete(topic)) return
    this.#refused.delete(topic)
    if (this.#subscriber.status === 'ready' || this.#shardTopics.has(topic)) this.#command('unsubscribe', [topic])
  }

  /** Waits (at most a command timeout: the SUBSCRIBE's own) for the SUBSCRIBEs of these topics. */
  async #confirmed (publications: readonly Publication[]): Promise<void> {
    const waits: Array<Promise<unknown>> = []
    for (const { topic } of publications) {
      const pending = this.#confirming.get(topic)
      if (pending !== undefined) waits.push(pending)
    }
    if (waits.length === 0) return
    await Promise.all(waits)
    // Refused meanwhile (or Redis went away): nothing was sent, say so.
    const readiness = this.readiness()
    if (readiness !== 'ok') throw new GW_ERR_BROKER_UNAVAILABLE(readiness)
  }

  readiness (): string {
    if (this.#closed) return 'closed'
    const down = this.#connectionState(this.#publisher) ?? this.#connectionState(this.#subscriber)
    if (down !== null) return down
    if (!this.#subscribed) return 'redis: resubscribing'
    if (this.#refused.size > 0) {
      const [topic, reason] = this.#refused.entries().next().value as [string, string]
      return `redis: SUBSCRIBE refused for ${this.#refused.size} topic(s) (${reason}, e.g. ${JSON.stringify(topic.slice(0, 100))}); retrying`
    }
    if (this.#stallMs > 0) {
      const silentMs = Math.max(this.#publisherWatch.silentMs(), this.#subscriberWatch.silentMs())
      if (silentMs >= this.#stallMs) return `redis: not answering (no reply for ${silentMs} ms)`
    }
    if (this.#backSince !== 0) {
      if (Date.now() - this.#backSince < this.#settleMs) return 'redis: settling after an outage'
      this.#backSince = 0
    }
    return 'ok'
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
    if (this.#retry !== null) clearTimeout(this.#retry)
    const connections = this.#subscriber === this.#publisher ? [this.#publisher] : [this.#publisher, this.#subscriber]
    await Promise.all(connections.map(async (connection) => {
      try {
        await connection.quit()
      } catch {
        connection.disconnect()
      }
    }))
  }

  #watchOf (connection: Connection): ReplyWatch {
    return connection === this.#publisher ? this.#publisherWatch : this.#subscriberWatch
  }

  /** Topics this node is subscribed to (or will be, once Redis is back). */
  get topicCount (): number { return this.#topics.size }

  #connectionState (connection: Connection): string | null {
    switch (connection.status) {
      case 'ready': return null
      case 'wait':
      case 'connecting':
      case 'connect':
        return this.#wasDown && this.#lastError !== null ? `redis: down (${this.#lastError})` : 'redis: connecting'
      default:
        return this.#lastError !== null ? `redis: down (${this.#lastError})` : 'redis: down'
    }
  }

  #watch (connection: Connection, role: string): void {
    connection.on('error', (err: Error & { code?: string }) => {
      const reason = err.code ?? err.message
      // One line per outage and reason, not one per reconnection attempt.
      if (reason !== this.#lastError) this.#log.warn({ role, err: err.message, code: err.code }, `broker: Redis ${role} error: ${reason}`)
      this.#lastError = reason
    })
    connection.on('close', () => {
      if (this.#closed) return
      if (!this.#wasDown) {
        this.#log.error({ role }, this.#everReady
          ? `broker: lost the Redis ${role} connection; publications are refused until it is back`
          : `broker: cannot reach Redis (${role}); publications are refused until it answers`)
      }
      this.#wasDown = true
      this.#backSince = 0
      if (connection === this.#subscriber) this.#subscribed = false
    })
    connection.on('ready', () => {
      this.#everReady = true
      if (this.#wasDown && this.#publisher.status === 'ready' && this.#subscriber.status === 'ready') {
        this.#log.info({ role }, 'broker: Redis is back')
        this.#wasDown = false
        this.#lastError = null
        this.#backSince = Date.now()
      }
    })
  }

  #resubscribe (): void {
    const generation = ++this.#generation
    this.#subscribed = false
    const topics = [...this.#topics]
    if (this.#sharded) {
      // The Cluster client resubscribes the channels it was given when shards come back or slots
      // move; it is given here the topics that gained subscribers while it was not ready.
      const missing = topics.filter((t) => !this.#shardTopics.has(t))
      if (missing.length > 0) this.#command('subscribe', missing)
      this.#subscribed = true
      return
    }
    // Every topic is subscribed again below, the refused ones too.
    this.#refused.clear()
    const chunks: string[][] = []
    for (let i = 0; i < topics.length; i += SUBSCRIBE_CHUNK) chunks.push(topics.slice(i, i + SUBSCRIBE_CHUNK))
    Promise.all(chunks.map((chunk) => this.#subscriber.subscribe(...chunk.map((t) => this.#prefix + t)))).then(() => {
      if (generation !== this.#generation) return
      this.#subscribed = true
      if (topics.length > 0) this.#log.info({ topics: topics.length }, 'broker: resubscribed to every active topic')
    }, (err: unknown) => {
      if (generation !== this.#generation) return
      if (this.#subscriber.status !== 'ready') {
        // The connection dropped again; the next ready starts over.
        this.#log.warn({ err: (err as Error).message }, 'broker: resubscribing failed')
        return
      }
      // Redis refused it on a live connection: try again (still unready meanwhile).
      this.#log.error({ err: (err as Error).message }, `broker: Redis refused to resubscribe (${(err as Error).message}); retrying every ${SUBSCRIBE_RETRY_MS / 1000} s, not ready meanwhile`)
      setTimeout(() => { if (!this.#closed && generation === this.#generation) this.#resubscribe() }, SUBSCRIBE_RETRY_MS).unref()
    })
  }

  #command (command: 'subscribe' | 'unsubscribe', topics: string[]): void {
    const channels = topics.map((t) => this.#prefix + t)
    let sent: Promise<unknown>
    if (this.#sharded) {
      const cluster = this.#subscriber as Cluster
      for (const t of topics) {
        if (command === 'subscribe') this.#shardTopics.add(t)
        else this.#shardTopics.delete(t)
      }
      sent = Promise.all(channels.map((c) => command === 'subscribe' ? cluster.ssubscribe(c) : cluster.sunsubscribe(c)))
    } else {
      sent = command === 'subscribe' ? this.#subscriber.subscribe(...channels) : this.#subscriber.unsubscribe(...channels)
    }
    if (command === 'subscribe') {
      const settled = sent.then(() => {
        for (const t of topics) this.#refused.delete(t)
      }, (err: unknown) => {
        // A dropped connection is repaired by resubscribing on ready. Refused on a live one:
        // remembered (readiness says so) and sent again.
        if (this.#subscriber.status !== 'ready' || this.#closed) return
        const reason = (err as Error).message.slice(0, 200)
        let fresh = false
        for (const t of topics) {
          if (!this.#topics.has(t)) continue
          if (!this.#refused.has(t)) fresh = true
          this.#refused.set(t, reason)
        }
        if (fresh) this.#log.error({ topics: topics.slice(0, 10), err: reason }, `broker: Redis refused SUBSCRIBE (${reason}); this node's subscribers of it get nothing until it is taken: retrying every ${SUBSCRIBE_RETRY_MS / 1000} s, not ready meanwhile`)
        this.#scheduleRetry()
      })
      for (const t of topics) this.#confirming.set(t, settled)
      void settled.then(() => {
        for (const t of topics) if (this.#confirming.get(t) === settled) this.#confirming.delete(t)
      })
      return
    }
    sent.catch((err: unknown) => {
      if (this.#subscriber.status === 'ready') this.#log.warn({ topics: topics.slice(0, 10), err: (err as Error).message }, `broker: Redis ${command} failed`)
    })
  }

  #scheduleRetry (): void {
    if (this.#retry !== null || this.#closed) return
    this.#retry = setTimeout(() => {
      this.#retry = null
      const topics = [...this.#refused.keys()].filter((t) => this.#topics.has(t))
      if (topics.length === 0 || this.#subscriber.status !== 'ready') return
      for (let i = 0; i < topics.length; i += SUBSCRIBE_CHUNK) this.#command('subscribe', topics.slice(i, i + SUBSCRIBE_CHUNK))
    }, SUBSCRIBE_RETRY_MS)
    this.#retry.unref()
  }

  #onMessage (channel: string, message: string): void {
    if (!channel.startsWith(this.#prefix)) return
    const publication = decodePublication(channel.slice(this.#prefix.length), message)
    if (publication === null) {
      this.#log.warn({ channel: channel.slice(0, 200) }, 'broker: ignored a Redis message that is not a gateway publication')
      return
    }
    if (publication.id !== undefined) {
      // A retry of a request whose first outcome was unknown, and which was delivered after all.
      if (this.#seenIds.get(publication.id) !== undefined) return
      if (!this.#seenIds.set(publication.id, true, SEEN_ID_BYTES + 2 * publication.id.length)) {
        // Delivering it without remembering it could deliver a retry twice: not delivered, counted.
        this.#stats.publicationsShed++
        const now = Date.now()
        if (now - this.#seenIdsFullLogged >= 60_000) {
          this.#seenIdsFullLogged = now
          this.#log.error({ ids: this.#seenIds.size }, 'broker: a keyed publication from Redis was not delivered: this node remembers as many Idempotency-Key ids as its memory bound allows for the 5-minute window (oro_ws_publications_shed_total)')
        }
        return
      }
    }
    this.#deliver(publication)
  }
}
