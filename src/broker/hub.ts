// The node-local hub: which local sessions listen to which topic, and the fan-out. Work per event
// is done once (encode, frame); per subscriber it is one write of the same bytes. The broker is
// told when a topic gets its first local subscriber and loses its last one.
//
// Large fan-outs yield: after WRITES_PER_TURN writes, the next publications wait in a FIFO queue
// and go out in the next turns of the event loop (setImmediate), so health checks and other
// sockets are served in between. Everything published goes through the same queue once it is
// not empty, so the order across events and publishers is the order they were handed over.
import { encodeEvent } from '../wamp/codec.js'
import { textFrame } from '../wamp/frame.js'
import type { Publication } from './broker.js'
import { counters, publishToWrite } from '../metrics.js'

export interface HubClient {
  readonly id: string
  /** Writes a ready-made frame; false when the client is gone or was dropped for being slow. */
  write (frame: Buffer): boolean
}

export interface TopicInterest {
  first (topic: string): void
  last (topic: string): void
}

/** Writes done before the hub lets the event loop serve other work (about 5-30 ms of writes). */
export const WRITES_PER_TURN = 8192

interface Waiter {
  resolve: (written: number) => void
  reject: (err: unknown) => void
}

interface Queued {
  publication: Publication
  waiter: Waiter | null
  /** performance.now() when it was handed over (for oro_ws_publish_to_write_seconds). */
  since: number
}

export interface HubOptions {
  /** Writes between two yields to the event loop. */
  writesPerTurn?: number
  /** A delivery made in a later turn failed and nobody waits for it (a bug: log it). */
  onError?: (err: unknown) => void
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
  #drainScheduled = false
  readonly #onError: (err: unknown) => void

  constructor (options: HubOptions = {}) {
    this.#writesPerTurn = options.writesPerTurn ?? WRITES_PER_TURN
    this.#onError = options.onError ?? ((err) => { process.emitWarning(String(err)) })
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

  /** Publications waiting for a later turn. */
  get queued (): number { return this.#queue.length - this.#head }

  /**
   * Delivers to this node's subscribers, now or (during a large fan-out) in a later turn after
   * what was handed over before. Returns how many sessions it was written to now: 0 when it waits.
   */
  broadcast (publication: Publication): number {
    if (this.#writes < this.#writesPerTurn && this.#head === this.#queue.length) return this.#deliverNow(publication)
    this.#enqueue(publication, null)
    return 0
  }

  /** Like broadcast; resolves with how many sessions it was written to, once it was. */
  deliver (publication: Publication): number | Promise<number> {
    if (this.#writes < this.#writesPerTurn && this.#head === this.#queue.length) return this.#deliverNow(publication)
    return new Promise((resolve, reject) => { this.#enqueue(publication, { resolve, reject }) })
  }

  /** Several in order, one after the other; resolves with the sessions written to in all. */
  deliverAll (publications: readonly Publication[]): number | Promise<number> {
    let written = 0
    for (let i = 0; i < publications.length; i++) {
      if (this.#writes >= this.#writesPerTurn || this.#head !== this.#queue.length) {
        // The rest waits its turn; they stay together and in order in the queue.
        const rest: Array<Promise<number>> = []
        for (let j = i; j < publications.length; j++) {
          rest.push(new Promise((resolve, reject) => { this.#enqueue(publications[j] as Publication, { resolve, reject }) }))
        }
        return Promise.all(rest).then((counts) => counts.reduce((a, b) => a + b, written))
      }
      written += this.#deliverNow(publications[i] as Publication)
    }
    return written
  }

  #enqueue (publication: Publication, waiter: Waiter | null): void {
    if (this.#head === this.#queue.length) counters.fanoutYields++
    this.#queue.push({ publication, waiter, since: performance.now() })
    if (!this.#drainScheduled) {
      this.#drainScheduled = true
      setImmediate(this.#drain)
    }
  }

  // A new turn: the write budget starts again; queued publications go out until it is spent.
  readonly #drain = (): void => {
    this.#drainScheduled = false
    this.#writes = 0
    const queue = this.#queue
    while (this.#head < queue.length) {
      if (this.#writes >= this.#writesPerTurn) {
        counters.fanoutYields++
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
      const item = queue[this.#head] as Queued
      queue[this.#head++] = undefined as unknown as Queued // let it be collected
      try {
        const written = this.#deliverNow(item.publication, item.since)
        item.waiter?.resolve(written)
      } catch (err) {
        // One failed delivery must not stop the ones behind it.
        if (item.waiter !== null) item.waiter.reject(err)
        else this.#onError(err)
      }
    }
    this.#queue = []
    this.#head = 0
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
      counters.eventsDelivered += written
      publishToWrite.observe((performance.now() - started) / 1000)
      return written
    }
    for (const client of subscribers) {
      if (excluded !== null && excluded.has(client.id)) continue
      if (client.write(frame)) written++
    }
    this.#writes += subscribers.size
    counters.eventsDelivered += written
    publishToWrite.observe((performance.now() - started) / 1000)
    return written
  }
}
