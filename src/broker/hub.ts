// The node-local hub: which local sessions listen to which topic, and the fan-out. Work per event
// is done once (encode, frame); per subscriber it is one write of the same bytes. The broker is
// told when a topic gets its first local subscriber and loses its last one.
//
// Large fan-outs yield: after WRITES_PER_TURN deliveries, the next publications wait in a FIFO
// queue and go out in the next turns of the event loop (setImmediate), so health checks and other
// sockets are served in between. Everything published goes through the same queue once it is
// not empty, so the order across events and publishers is the order they were handed over.
//
// Publications are merged (the `merge` option, on in the app): each waits for the end of the
// current turn of the event loop (the check phase of the same iteration: microseconds later, not
// a timer), and the publications of that turn to one topic leave as one buffer of consecutive
// frames: one write, so one syscall, per socket and turn instead of one per event, however many
// HTTP requests or WAMP frames brought them (docs/benchmark.md, "Single-event publishes").
// While the hub is hot (a fan-out ended less than 2 ms before) and that fan-out carried the
// publications of more than one publisher call, the next one waits holdMs (1 ms in the app) so
// publications still on their way join it: Centrifuge's write delay, only when several publishers
// follow each other closely. A lone publisher sending one request at a time (Oro's PHP backend)
// brings one publication per fan-out, and holding its next one would only add 1 ms to each
// request: it is not held, except for a probe now and then (after HOLD_PROBE_MIN hot fan-outs of
// one call, the interval doubling up to HOLD_PROBE_MAX while probes catch nothing), which finds
// publishers that are out of step (a WAMP publisher with several events in flight looks like a
// lone one until a hold merges them). At a fixed rate (events further apart) none is held.
//
// The queue is bounded (maxQueuedBytes): it grows only when publications arrive faster than
// fan-outs drain. Past the bound, a publication nobody waits for (from Redis) is shed: not
// delivered, counted (oro_ws_publications_shed_total) and reported to onShed (a throttled log
// line); one somebody waits for (an HTTP or WAMP publisher to the memory broker) is refused
// before anything of it is queued (GW_ERR_BROKER_UNAVAILABLE: POST /publish answers 503), so
// concurrent large requests cannot grow the queue past the bound either. An empty queue takes
// any one publication or batch, however large.
import { encodeEvent } from '../wamp/codec.js'
import { textFrame } from '../wamp/frame.js'
import type { Publication } from './broker.js'
import { GatewayStats } from '../stats.js'
import { GW_ERR_BROKER_UNAVAILABLE } from '../errors.js'

export interface HubClient {
  readonly id: string
  /** Writes a ready-made frame; false when the client is gone or was dropped for being slow. */
  write (frame: Buffer): boolean
}

export interface TopicInterest {
  first (topic: string): void
  last (topic: string): void
}

/** Deliveries (frames to sockets) before the hub lets the event loop serve other work (about 5-30 ms of writes). */
export const WRITES_PER_TURN = 8192

/** Default bound of the queue, in bytes of queued publications (payload, topic, session ids). */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024

/** With holdMs: the hub counts as hot this long after a fan-out ended. */
const HOT_MS = 2

/** With holdMs: hot fan-outs of a single call between two probing holds, at first and at most. */
export const HOLD_PROBE_MIN = 16
export const HOLD_PROBE_MAX = 512

/** Most publications merged into one write, and most payload bytes in one merged write. */
const MERGE_MAX_EVENTS = 64
const MERGE_MAX_BYTES = 64 * 1024

interface Waiter {
  resolve: (written: number) => void
  reject: (err: unknown) => void
}

interface Queued {
  publication: Publication
  waiter: Waiter | null
  /** performance.now() when it was handed over (for oro_ws_publish_to_write_seconds). */
  since: number
  /** Its share of queuedBytes. */
  bytes: number
}

/** What a queued publication holds on to, roughly: its strings and the object around them. */
function queuedSize (publication: Publication): number {
  let bytes = 64 + publication.topic.length + publication.payload.length
  const { exclude, eligible } = publication
  if (exclude != null) for (const id of exclude) bytes += 16 + id.length
  if (eligible != null) for (const id of eligible) bytes += 16 + id.length
  return bytes
}

/** Goes out merged with neighbours of its topic: written to every subscriber alike. */
function mergeable (publication: Publication): boolean {
  return (publication.exclude == null || publication.exclude.length === 0) &&
    (publication.eligible == null || publication.eligible.length === 0)
}

export interface HubOptions {
  /** Deliveries between two yields to the event loop. */
  writesPerTurn?: number
  /**
   * Every publication waits for the end of the turn and leaves merged with the others of that
   * turn (false, the default: each is written at once while the write budget lasts).
   */
  merge?: boolean
  /**
   * With merge: while the hub is hot (its last fan-out ended less than HOT_MS ago) and that
   * fan-out merged the publications of two or more calls, the next fan-out waits this many ms (a
   * timer) so publications still on their way join it (0: none).
   */
  holdMs?: number
  /** With holdMs: how long after a fan-out the hub counts as hot (HOT_MS; tests set it long so no load makes a fan-out cold). */
  hotMs?: number
  /** Bound of the queue in bytes (MAX_QUEUED_BYTES by default); see the file's comment. */
  maxQueuedBytes?: number
  /** A publication was shed at the bound (for a throttled log line). */
  onShed?: (publication: Publication, queuedBytes: number) => void
  /** A delivery made in a later turn failed and nobody waits for it (a bug: log it). */
  onError?: (err: unknown) => void
  /** The app's figures (deliveries, yields, shed, publish-to-write time); its own when not given (tests). */
  stats?: GatewayStats
}

export class Hub {
  readonly #topics = new Map<string, Set<HubClient>>()
  readonly #clients = new Map<string, HubClient>()
  #interest: TopicInterest | null = null
  readonly #writesPerTurn: number
  /** Writes since the hub last yielded. */
  #writes = 0
  #queue: Queued[] = []
  #head = 0
  #queuedBytes = 0
  #drainScheduled = false
  /** The write budget was spent: what is queued waits for later turns (not just this turn's end). */
  #yielding = false
  readonly #merge: boolean
  readonly #holdMs: number
  readonly #hotMs: number
  /** performance.now() when the last fan-out ended. */
  #lastDrain = -Infinity
  /** Calls (deliver, deliverAll, broadcast) queued since the last fan-out ended. */
  #handovers = 0
  /** The last fan-out carried publications of two or more calls: others publish alongside. */
  #concurrent = false
  /** Hot fan-outs not held since the last probe, the current interval, and a probe under way. */
  #sinceProbe = 0
  #probeEvery = HOLD_PROBE_MIN
  #probing = false
  readonly #maxQueuedBytes: number
  readonly #onShed: ((publication: Publication, queuedBytes: number) => void) | null
  readonly #onError: (err: unknown) => void
  readonly #stats: GatewayStats

  constructor (options: HubOptions = {}) {
    this.#writesPerTurn = options.writesPerTurn ?? WRITES_PER_TURN
    this.#merge = options.merge ?? false
    this.#holdMs = options.holdMs ?? 0
    this.#hotMs = options.hotMs ?? HOT_MS
    this.#maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES
    this.#onShed = options.onShed ?? null
    this.#onError = options.onError ?? ((err) => { process.emitWarning(String(err)) })
    this.#stats = options.stats ?? new GatewayStats()
  }

  /** Who hears of topics gaining their first and losing their last local subscriber. */
  setInterest (interest: TopicInterest): void {
    this.#interest = interest
  }

  addClient (client: HubClient): void {
    this.#clients.set(client.id, client)
  }

  /** Removes the client from the given topics (its subscriptions) and from the hub. */
  removeClient (client: HubClient, topics: Iterable<string>): void {
    for (const topic of topics) this.unsubscribe(topic, client)
    this.#clients.delete(client.id)
  }

  /** True when the client was not subscribed before. */
  subscribe (topic: string, client: HubClient): boolean {
    let subscribers = this.#topics.get(topic)
    if (subscribers === undefined) {
      subscribers = new Set()
      this.#topics.set(topic, subscribers)
      this.#interest?.first(topic)
    } else if (subscribers.has(client)) {
      return false
    }
    subscribers.add(client)
    return true
  }

  unsubscribe (topic: string, client: HubClient): boolean {
    const subscribers = this.#topics.get(topic)
    if (subscribers === undefined || !subscribers.delete(client)) return false
    if (subscribers.size === 0) {
      this.#topics.delete(topic)
      this.#interest?.last(topic)
    }
    return true
  }

  subscriberCount (topic: string): number {
    return this.#topics.get(topic)?.size ?? 0
  }

  get topicCount (): number { return this.#topics.size }
  get clientCount (): number { return this.#clients.size }
  topics (): IterableIterator<string> { return this.#topics.keys() }

  /**
   * Publications waiting for a later turn because a fan-out yielded (those only held until the
   * end of this turn to be merged do not count: they leave before the event loop waits again).
   */
  get queued (): number { return this.#yielding ? this.#queue.length - this.#head : 0 }

  /** Bytes of the publications in the queue (bounded by maxQueuedBytes, see the file's comment). */
  get queuedBytes (): number { return this.#queuedBytes }

  /** True when a publication handed over now is written at once. */
  #now (): boolean {
    return !this.#merge && this.#head === this.#queue.length && this.#writes < this.#writesPerTurn
  }

  /**
   * Delivers to this node's subscribers, now or in a later turn after what was handed over
   * before. Returns how many sessions it was written to now: 0 when it waits (or was shed).
   */
  broadcast (publication: Publication): number {
    // Nobody here listens: nothing to write, nothing to wait for (no merge window, no hold).
    if (!this.#topics.has(publication.topic)) return 0
    if (this.#now()) return this.#deliverNow(publication)
    this.#enqueue(publication, null)
    return 0
  }

  /**
   * Like broadcast, but never shed: resolves with how many sessions it was written to, once it
   * was; throws GW_ERR_BROKER_UNAVAILABLE (nothing queued) when the queue is over its bound.
   */
  deliver (publication: Publication): number | Promise<number> {
    if (!this.#topics.has(publication.topic)) return 0
    if (this.#now()) return this.#deliverNow(publication)
    this.#admit(queuedSize(publication))
    return new Promise((resolve, reject) => { this.#enqueue(publication, { resolve, reject }) })
  }

  /** Throws unless `bytes` more fit under the bound (or the queue is empty). */
  #admit (bytes: number): void {
    if (this.#head === this.#queue.length || this.#queuedBytes + bytes <= this.#maxQueuedBytes) return
    throw new GW_ERR_BROKER_UNAVAILABLE(`this node's fan-outs are behind: its queue holds ${this.#queuedBytes} bytes of publications and this needs ${bytes} more, over ORO_WEBSOCKET_HUB_QUEUE_BYTES (${this.#maxQueuedBytes})`)
  }

  /**
   * Several in order, one after the other; resolves with the sessions written to in all. All or
   * nothing against the bound: throws GW_ERR_BROKER_UNAVAILABLE before any is delivered.
   */
  deliverAll (publications: readonly Publication[]): number | Promise<number> {
    if (this.#head !== this.#queue.length) {
      let bytes = 0
      for (const publication of publications) if (this.#topics.has(publication.topic)) bytes += queuedSize(publication)
      this.#admit(bytes)
    }
    let written = 0
    for (let i = 0; i < publications.length; i++) {
      if (!this.#topics.has((publications[i] as Publication).topic)) continue
      if (!this.#now()) {
        // The rest waits its turn; they stay together and in order in the queue.
        const rest: Array<Promise<number>> = []
        for (let j = i; j < publications.length; j++) {
          rest.push(new Promise((resolve, reject) => { this.#enqueue(publications[j] as Publication, { resolve, reject }, j === i) }))
        }
        return Promise.all(rest).then((counts) => counts.reduce((a, b) => a + b, written))
      }
      written += this.#deliverNow(publications[i] as Publication)
    }
    return written
  }

  /** `first`: the first publication of its call (a batch counts as one hand-over). */
  #enqueue (publication: Publication, waiter: Waiter | null, first = true): void {
    const bytes = queuedSize(publication)
    const empty = this.#head === this.#queue.length
    if (waiter === null && !empty && this.#queuedBytes + bytes > this.#maxQueuedBytes) {
      // Nobody waits for it (it came from Redis): dropped, counted, reported.
      this.#stats.publicationsShed++
      this.#onShed?.(publication, this.#queuedBytes)
      return
    }
    if (this.#writes >= this.#writesPerTurn) {
      if (!this.#yielding) this.#stats.fanoutYields++
      this.#yielding = true
    }
    const now = performance.now()
    this.#queue.push({ publication, waiter, since: now, bytes })
    this.#queuedBytes += bytes
    if (first) this.#handovers++
    if (!this.#drainScheduled) {
      this.#drainScheduled = true
      // Right after a fan-out that merged several publishers' calls, more are likely on their way
      // (their other requests in flight): wait a little. A lone publisher's next request is not.
      if (this.#holdMs > 0 && !this.#yielding && now - this.#lastDrain < this.#hotMs && (this.#concurrent || this.#probe())) setTimeout(this.#drain, this.#holdMs)
      else setImmediate(this.#drain)
    }
  }

  /** True when this hot fan-out of a lone-looking call is held anyway, to see whether others join. */
  #probe (): boolean {
    if (++this.#sinceProbe < this.#probeEvery) return false
    this.#sinceProbe = 0
    this.#probing = true
    return true
  }

  // A new turn: the write budget starts again; queued publications go out until it is spent,
  // consecutive ones to the same topic merged into one write per socket.
  readonly #drain = (): void => {
    this.#drainScheduled = false
    this.#writes = 0
    const queue = this.#queue
    while (this.#head < queue.length) {
      if (this.#writes >= this.#writesPerTurn) {
        this.#stats.fanoutYields++
        this.#yielding = true
        if (!this.#drainScheduled) {
          this.#drainScheduled = true
          setImmediate(this.#drain)
        }
        // Under steady load the queue may never empty: drop the delivered head now and then.
        if (this.#head > 1024 && this.#head * 2 > queue.length) {
          this.#queue = queue.slice(this.#head)
          this.#head = 0
        }
        return
      }
      const from = this.#head
      const to = this.#merge ? this.#groupEnd(queue, from) : from + 1
      this.#head = to
      for (let i = from; i < to; i++) this.#queuedBytes -= (queue[i] as Queued).bytes
      try {
        if (to - from === 1) {
          const item = queue[from] as Queued
          const written = this.#write(item.publication, item.since)
          item.waiter?.resolve(written)
        } else {
          this.#writeMerged(queue, from, to)
        }
      } catch (err) {
        // One failed delivery must not stop the ones behind it.
        for (let i = from; i < to; i++) {
          const item = queue[i] as Queued
          if (item.waiter !== null) item.waiter.reject(err)
          else this.#onError(err)
        }
      }
      for (let i = from; i < to; i++) queue[i] = undefined as unknown as Queued // let them be collected
    }
    this.#queue = []
    this.#head = 0
    this.#queuedBytes = 0
    this.#yielding = false
    this.#concurrent = this.#handovers >= 2
    this.#handovers = 0
    if (this.#concurrent) this.#probeEvery = HOLD_PROBE_MIN
    else if (this.#probing) this.#probeEvery = Math.min(this.#probeEvery * 2, HOLD_PROBE_MAX)
    this.#probing = false
    this.#lastDrain = performance.now()
  }

  /** End of the run of publications from `from` that go out as one write per socket. */
  #groupEnd (queue: Queued[], from: number): number {
    const first = (queue[from] as Queued).publication
    if (!mergeable(first)) return from + 1
    const subscribers = this.#topics.get(first.topic)?.size ?? 0
    // The run's deliveries count against the turn's budget as if written one by one.
    const budget = subscribers === 0 ? MERGE_MAX_EVENTS : Math.floor((this.#writesPerTurn - this.#writes) / subscribers)
    const most = Math.min(queue.length, from + Math.max(1, Math.min(MERGE_MAX_EVENTS, budget)))
    let bytes = first.payload.length
    let to = from + 1
    while (to < most) {
      const next = (queue[to] as Queued).publication
      bytes += next.payload.length
      if (next.topic !== first.topic || !mergeable(next) || bytes > MERGE_MAX_BYTES) break
      to++
    }
    return to
  }

  /** Publications from..to-1 (same topic, to everyone): their frames in one buffer, one write each. */
  #writeMerged (queue: Queued[], from: number, to: number): void {
    const topic = (queue[from] as Queued).publication.topic
    const subscribers = this.#topics.get(topic)
    const count = to - from
    let written = 0
    if (subscribers !== undefined) {
      const frames: Buffer[] = new Array(count)
      let length = 0
      for (let i = 0; i < count; i++) {
        const frame = textFrame(encodeEvent(topic, (queue[from + i] as Queued).publication.payload))
        frames[i] = frame
        length += frame.length
      }
      const merged = Buffer.concat(frames, length)
      for (const client of subscribers) {
        if (client.write(merged)) written++
      }
      this.#writes += subscribers.size * count
      this.#stats.eventsDelivered += written * count
    }
    const now = performance.now()
    for (let i = from; i < to; i++) {
      const item = queue[i] as Queued
      if (subscribers !== undefined) this.#stats.publishToWrite.observe((now - item.since) / 1000)
      item.waiter?.resolve(written)
    }
  }

  #deliverNow (publication: Publication, since = -1): number {
    if (!this.#drainScheduled) {
      // The first delivery of this turn: the write budget starts again at the next one.
      this.#drainScheduled = true
      setImmediate(this.#drain)
    }
    return this.#write(publication, since)
  }

  /** `since`: when a queued publication was handed over; -1 for one written at once. */
  #write (publication: Publication, since: number): number {
    const subscribers = this.#topics.get(publication.topic)
    if (subscribers === undefined) return 0
    const started = since < 0 ? performance.now() : since
    const frame = textFrame(encodeEvent(publication.topic, publication.payload))
    const exclude = publication.exclude ?? null
    const excluded = exclude === null || exclude.length === 0 ? null : new Set(exclude)
    const eligible = publication.eligible ?? null
    let written = 0
    if (eligible !== null && eligible.length > 0) {
      // Few eligible sessions among many subscribers: look them up instead of scanning.
      const seen = new Set<string>()
      for (const id of eligible) {
        if (seen.has(id) || excluded?.has(id) === true) continue
        seen.add(id)
        const client = this.#clients.get(id)
        if (client !== undefined && subscribers.has(client) && client.write(frame)) written++
      }
      this.#writes += seen.size
      this.#stats.eventsDelivered += written
      this.#stats.publishToWrite.observe((performance.now() - started) / 1000)
      return written
    }
    for (const client of subscribers) {
      if (excluded !== null && excluded.has(client.id)) continue
      if (client.write(frame)) written++
    }
    this.#writes += subscribers.size
    this.#stats.eventsDelivered += written
    this.#stats.publishToWrite.observe((performance.now() - started) / 1000)
    return written
  }
}
