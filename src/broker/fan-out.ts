// The fan-out queue: publications handed to this node wait here and are written to their topic's
// local subscribers. Work per publication is done once (encode, frame); per subscriber it is one
// write of the same bytes.
//
// Publications are merged: each waits for the end of the current turn of the event loop (the
// check phase of the same iteration: microseconds later, not a timer), and the publications of
// that turn to one topic leave as one buffer of consecutive frames: one write, so one syscall, per
// socket and turn instead of one per event, however many HTTP requests or WAMP frames brought them
// (docs/benchmark.md, "Single-event publishes"). The order across events and publishers is the
// order they were handed over.
//
// Large fan-outs yield: after writesPerTurn deliveries (WRITES_PER_TURN), the rest of the queue
// goes out in the next turns of the event loop (setImmediate), so health checks and other sockets
// are served in between.
//
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
// fan-outs drain. A publication nobody waits for (from Redis) is shed when the queue would hold
// more than the bound beyond its largest publication (at most the bound plus one publication,
// so a mass edit larger than the bound, or two large ones, still go out while the queue is
// otherwise small): not delivered, counted (oro_ws_publications_shed_total) and reported to
// onShed (a throttled log line at error); one somebody waits for (an HTTP or WAMP publisher to the memory broker) is refused
// before anything of it is queued (GW_ERR_BROKER_UNAVAILABLE: POST /publish answers 503), so
// concurrent large requests cannot grow the queue past the bound either. An empty queue takes
// any one publication or batch, however large.
//
// A refusal for room (not an outage) is marked (isQueueFull) and counted (refusals, read around a
// call to know at once, in the same turn, that it was refused), and whenRoom() tells a publisher
// that waits (a WAMP backend session's PublishFlow, which holds its publications meanwhile) when
// the queue shrank to half its bound or empty, within the fan-out (no timer): what they bring is
// written in the same turn.
import { encodeEvent } from '../wamp/codec.js'
import { textFrame } from '../wamp/frame.js'
import type { Publication } from './broker.js'
import type { HubClient } from './topic-registry.js'
import { GatewayStats } from '../stats.js'
import { GW_ERR_BROKER_UNAVAILABLE } from '../errors.js'
import { Fifo } from '../fifo.js'

/** What the fan-out reads of the topic registry when it writes. */
export interface Audience {
  subscribers (topic: string): ReadonlySet<HubClient> | undefined
  client (id: string): HubClient | undefined
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

/** Marks GW_ERR_BROKER_UNAVAILABLE errors that mean "the queue is full", not an outage. */
const QUEUE_FULL = Symbol('queue-full')

/** True when `err` is a refusal of the fan-out queue for room (ORO_WEBSOCKET_HUB_QUEUE_BYTES): the same call succeeds once it drained. */
export function isQueueFull (err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [QUEUE_FULL]?: boolean })[QUEUE_FULL] === true
}

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

export interface FanOutOptions {
  /** Deliveries between two yields to the event loop. */
  writesPerTurn?: number
  /**
   * While the hub is hot (its last fan-out ended less than HOT_MS ago) and that fan-out merged
   * the publications of two or more calls, the next fan-out waits this many ms (a timer) so
   * publications still on their way join it (0: none).
   */
  holdMs?: number
  /** With holdMs: how long after a fan-out the hub counts as hot (HOT_MS; tests set it long so no load makes a fan-out cold). */
  hotMs?: number
  /** Bound of the queue in bytes (MAX_QUEUED_BYTES by default); see the file's comment. */
  maxQueuedBytes?: number
  /** A publication was shed at the bound (for a throttled log line). */
  onShed?: (publication: Publication, queuedBytes: number) => void
  /** A queued delivery failed and nobody waits for it (a bug: log it). */
  onError?: (err: unknown) => void
  /** The app's figures (deliveries, yields, shed, publish-to-write time); its own when not given (tests). */
  stats?: GatewayStats
}

export class FanOutQueue {
  readonly #audience: Audience
  readonly #writesPerTurn: number
  /** Writes since the queue last yielded. */
  #writes = 0
  readonly #queue = new Fifo<Queued>()
  #queuedBytes = 0
  /** The largest publication queued since the queue was last empty (an upper bound of the largest in it). */
  #largestQueued = 0
  #drainScheduled = false
  /** The write budget was spent: what is queued waits for later turns (not just this turn's end). */
  #yielding = false
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
  /** Publications refused for room, ever (see refusals). */
  #refusals = 0
  /** Told (once each) when the queue next shrinks; null when nobody waits. */
  #roomWaiters: Array<() => void> | null = null

  constructor (audience: Audience, options: FanOutOptions = {}) {
    this.#audience = audience
    this.#writesPerTurn = options.writesPerTurn ?? WRITES_PER_TURN
    this.#holdMs = options.holdMs ?? 0
    this.#hotMs = options.hotMs ?? HOT_MS
    this.#maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES
    this.#onShed = options.onShed ?? null
    this.#onError = options.onError ?? ((err) => { process.emitWarning(String(err)) })
    this.#stats = options.stats ?? new GatewayStats()
  }

  /**
   * Publications waiting for a later turn because a fan-out yielded (those only held until the
   * end of this turn to be merged do not count: they leave before the event loop waits again).
   */
  get queued (): number { return this.#yielding ? this.#queue.length : 0 }

  /** Bytes of the publications in the queue (bounded by maxQueuedBytes, see the file's comment). */
  get queuedBytes (): number { return this.#queuedBytes }

  /**
   * Calls of deliver/deliverAll refused because the queue was over its bound, ever: read before
   * and after a call, a change says that call was refused (synchronously, before any await).
   */
  get refusals (): number { return this.#refusals }

  /** Calls `room` once, when the queue next shrank (a fan-out yielded or ended). */
  whenRoom (room: () => void): void {
    (this.#roomWaiters ??= []).push(room)
  }

  /**
   * The broker closed (shutdown): those waiting for room try now instead of at the next fan-out
   * (which may not come before the process ends); their publish fails and each is logged.
   */
  wakeRoomWaiters (): void {
    if (this.#roomWaiters !== null) this.#room()
  }

  /** Queues a publication nobody waits for: written in this turn's fan-out or a later one, or shed past the bound. */
  broadcast (publication: Publication): void {
    this.#enqueue(publication, null)
  }

  /**
   * Queues a publication somebody waits for: resolves with how many sessions it was written to,
   * once it was; throws GW_ERR_BROKER_UNAVAILABLE (nothing queued) when the queue is over its bound.
   */
  deliver (publication: Publication): Promise<number> {
    this.#admit(queuedSize(publication))
    return new Promise((resolve, reject) => { this.#enqueue(publication, { resolve, reject }) })
  }

  /**
   * Several in order, one hand-over; resolves with the sessions written to in all. All or
   * nothing against the bound: throws GW_ERR_BROKER_UNAVAILABLE before any is queued.
   */
  deliverAll (publications: readonly Publication[]): Promise<number> {
    if (this.#queue.length > 0) {
      let bytes = 0
      for (const publication of publications) bytes += queuedSize(publication)
      this.#admit(bytes)
    }
    const each: Array<Promise<number>> = new Array(publications.length)
    for (let i = 0; i < publications.length; i++) {
      each[i] = new Promise((resolve, reject) => { this.#enqueue(publications[i] as Publication, { resolve, reject }, i === 0) })
    }
    return Promise.all(each).then((counts) => counts.reduce((a, b) => a + b, 0))
  }

  /** Throws unless `bytes` more fit under the bound (or the queue is empty). */
  #admit (bytes: number): void {
    if (this.#queue.length === 0 || this.#queuedBytes + bytes <= this.#maxQueuedBytes) return
    this.#refusals++
    const err = new GW_ERR_BROKER_UNAVAILABLE(`this node's fan-outs are behind: its queue holds ${this.#queuedBytes} bytes of publications and this needs ${bytes} more, over ORO_WEBSOCKET_HUB_QUEUE_BYTES (${this.#maxQueuedBytes})`)
    Object.defineProperty(err, QUEUE_FULL, { value: true })
    throw err
  }

  /** `first`: the first publication of its call (a batch counts as one hand-over). */
  #enqueue (publication: Publication, waiter: Waiter | null, first = true): void {
    const bytes = queuedSize(publication)
    // Nobody waits for it (it came from Redis): shed when, with it, the queue would hold more than
    // the bound beyond its largest publication (one mass edit larger than the bound, or two large
    // ones, are not shed while the queue is otherwise small: the rule of a slow reader's backlog).
    if (waiter === null && this.#queue.length > 0 &&
      this.#queuedBytes + bytes - (bytes > this.#largestQueued ? bytes : this.#largestQueued) > this.#maxQueuedBytes) {
      // Dropped, counted, reported.
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
    if (bytes > this.#largestQueued) this.#largestQueued = bytes
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
    while (queue.length > 0) {
      if (this.#writes >= this.#writesPerTurn) {
        this.#stats.fanoutYields++
        this.#yielding = true
        if (!this.#drainScheduled) {
          this.#drainScheduled = true
          setImmediate(this.#drain)
        }
        return
      }
      const count = this.#runLength()
      if (count === 1) {
        const item = queue.shift() as Queued
        this.#queuedBytes -= item.bytes
        try {
          const written = this.#write(item.publication, item.since)
          item.waiter?.resolve(written)
        } catch (err) {
          this.#failed(item, err)
        }
        if (this.#roomWaiters !== null) this.#roomMade()
        continue
      }
      const run: Queued[] = new Array(count)
      for (let i = 0; i < count; i++) {
        const item = queue.shift() as Queued
        run[i] = item
        this.#queuedBytes -= item.bytes
      }
      try {
        this.#writeMerged(run)
      } catch (err) {
        for (const item of run) this.#failed(item, err)
      }
      if (this.#roomWaiters !== null) this.#roomMade()
    }
    this.#queuedBytes = 0
    this.#largestQueued = 0
    this.#yielding = false
    this.#concurrent = this.#handovers >= 2
    this.#handovers = 0
    if (this.#concurrent) this.#probeEvery = HOLD_PROBE_MIN
    else if (this.#probing) this.#probeEvery = Math.min(this.#probeEvery * 2, HOLD_PROBE_MAX)
    this.#probing = false
    this.#lastDrain = performance.now()
    if (this.#roomWaiters !== null) this.#room()
  }

  /**
   * A publication left the queue while some wait for room: they try again once the queue is at
   * half its bound or empty (not at every publication leaving), within this fan-out, so what
   * they bring is written in this turn, next to what was refused room.
   */
  #roomMade (): void {
    if (this.#queue.length === 0 || this.#queuedBytes <= this.#maxQueuedBytes / 2) this.#room()
  }

  /** Those waiting for room try again (in the order they began to wait). */
  #room (): void {
    const waiters = this.#roomWaiters as Array<() => void>
    this.#roomWaiters = null
    for (const room of waiters) {
      try {
        room()
      } catch (err) {
        this.#onError(err)
      }
    }
  }

  // One failed delivery must not stop the ones behind it: its publisher is told, or the log.
  #failed (item: Queued, err: unknown): void {
    if (item.waiter !== null) item.waiter.reject(err)
    else this.#onError(err)
  }

  /** How many publications from the head of the queue go out as one write per socket. */
  #runLength (): number {
    const queue = this.#queue
    const first = (queue.at(0) as Queued).publication
    if (!mergeable(first)) return 1
    const subscribers = this.#audience.subscribers(first.topic)?.size ?? 0
    // The run's deliveries count against the turn's budget as if written one by one.
    const budget = subscribers === 0 ? MERGE_MAX_EVENTS : Math.floor((this.#writesPerTurn - this.#writes) / subscribers)
    const most = Math.min(queue.length, Math.max(1, Math.min(MERGE_MAX_EVENTS, budget)))
    let bytes = first.payload.length
    let count = 1
    while (count < most) {
      const next = (queue.at(count) as Queued).publication
      bytes += next.payload.length
      if (next.topic !== first.topic || !mergeable(next) || bytes > MERGE_MAX_BYTES) break
      count++
    }
    return count
  }

  /** A run of publications (same topic, to everyone): their frames in one buffer, one write each. */
  #writeMerged (run: readonly Queued[]): void {
    const topic = (run[0] as Queued).publication.topic
    const subscribers = this.#audience.subscribers(topic)
    const count = run.length
    let written = 0
    if (subscribers !== undefined) {
      const frames: Buffer[] = new Array(count)
      let length = 0
      for (let i = 0; i < count; i++) {
        const frame = textFrame(encodeEvent(topic, (run[i] as Queued).publication.payload))
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
    for (const item of run) {
      if (subscribers !== undefined) this.#stats.publishToWrite.observe((now - item.since) / 1000)
      item.waiter?.resolve(written)
    }
  }

  /** One publication (maybe with exclude or eligible); `since`: when it was handed over. */
  #write (publication: Publication, since: number): number {
    const subscribers = this.#audience.subscribers(publication.topic)
    if (subscribers === undefined) return 0
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
        const client = this.#audience.client(id)
        if (client !== undefined && subscribers.has(client) && client.write(frame)) written++
      }
      this.#writes += seen.size
      this.#stats.eventsDelivered += written
      this.#stats.publishToWrite.observe((performance.now() - since) / 1000)
      return written
    }
    for (const client of subscribers) {
      if (excluded !== null && excluded.has(client.id)) continue
      if (client.write(frame)) written++
    }
    this.#writes += subscribers.size
    this.#stats.eventsDelivered += written
    this.#stats.publishToWrite.observe((performance.now() - since) / 1000)
    return written
  }
}
