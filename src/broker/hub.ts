// The node-local hub: which local sessions listen to which topic, and the fan-out. Work per event
// is done once (encode, frame); per subscriber it is one write of the same bytes. The broker is
// told when a topic gets its first local subscriber and loses its last one.
import { encodeEvent } from '../wamp/codec.js'
import { textFrame } from '../wamp/frame.js'
import type { Publication } from './broker.js'
import { counters } from '../metrics.js'

export interface HubClient {
  readonly id: string
  /** Writes a ready-made frame; false when the client is gone or was dropped for being slow. */
  write (frame: Buffer): boolean
}

export interface TopicInterest {
  first (topic: string): void
  last (topic: string): void
}

export class Hub {
  readonly #topics = new Map<string, Set<HubClient>>()
  readonly #clients = new Map<string, HubClient>()
  #interest: TopicInterest | null = null

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

  /** Delivers to this node's subscribers; returns how many sessions the event was written to. */
  broadcast (publication: Publication): number {
    const subscribers = this.#topics.get(publication.topic)
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
        const client = this.#clients.get(id)
        if (client !== undefined && subscribers.has(client) && client.write(frame)) written++
      }
      counters.eventsDelivered += written
      return written
    }
    for (const client of subscribers) {
      if (excluded !== null && excluded.has(client.id)) continue
      if (client.write(frame)) written++
    }
    counters.eventsDelivered += written
    return written
  }
}
