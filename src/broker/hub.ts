// The node-local hub: the API the broker and the sessions use. It composes the topic registry
// (topic-registry.ts: who on this node listens to what; the broker hears of a topic's first and
// last local subscriber) and the fan-out queue (fan-out.ts: publications merged per turn, written
// once per publication and per socket, bounded in bytes, yielding to the event loop). A
// publication nobody on this node listens to is answered here at once: it is never queued.
import type { Publication } from './broker.js'
import { TopicRegistry, type HubClient, type TopicInterest } from './topic-registry.js'
import { FanOutQueue, type FanOutOptions } from './fan-out.js'

export type { HubClient, TopicInterest } from './topic-registry.js'
export { isQueueFull } from './fan-out.js'
export { WRITES_PER_TURN, MAX_QUEUED_BYTES, HOLD_PROBE_MIN, HOLD_PROBE_MAX } from './fan-out.js'
export type HubOptions = FanOutOptions

export class Hub {
  readonly #registry = new TopicRegistry()
  readonly #fanOut: FanOutQueue

  constructor (options: HubOptions = {}) {
    this.#fanOut = new FanOutQueue(this.#registry, options)
  }

  /** Who hears of topics gaining their first and losing their last local subscriber. */
  setInterest (interest: TopicInterest): void { this.#registry.setInterest(interest) }
  addClient (client: HubClient): void { this.#registry.addClient(client) }
  /** Removes the client from the given topics (its subscriptions) and from the hub. */
  removeClient (client: HubClient, topics: Iterable<string>): void { this.#registry.removeClient(client, topics) }
  /** True when the client was not subscribed before. */
  subscribe (topic: string, client: HubClient): boolean { return this.#registry.subscribe(topic, client) }
  unsubscribe (topic: string, client: HubClient): boolean { return this.#registry.unsubscribe(topic, client) }
  subscriberCount (topic: string): number { return this.#registry.subscriberCount(topic) }
  get topicCount (): number { return this.#registry.topicCount }
  get clientCount (): number { return this.#registry.clientCount }
  topics (): IterableIterator<string> { return this.#registry.topics() }

  /** Publications waiting for a later turn because a fan-out yielded (see FanOutQueue.queued). */
  get queued (): number { return this.#fanOut.queued }
  /** Bytes of the publications in the queue (bounded by maxQueuedBytes). */
  get queuedBytes (): number { return this.#fanOut.queuedBytes }

  /** Deliveries refused because the queue was over its bound, ever (FanOutQueue.refusals). */
  get refusals (): number { return this.#fanOut.refusals }
  /** Calls `room` once, when the queue next shrank (FanOutQueue.whenRoom). */
  whenRoom (room: () => void): void { this.#fanOut.whenRoom(room) }
  /** The broker closed: those waiting for room try now (and fail, logged) (FanOutQueue.wakeRoomWaiters). */
  wakeRoomWaiters (): void { this.#fanOut.wakeRoomWaiters() }

  /** Delivers to this node's subscribers at the end of this turn or later, in order; shed past the queue's bound. */
  broadcast (publication: Publication): void {
    if (this.#registry.has(publication.topic)) this.#fanOut.broadcast(publication)
  }

  /**
   * Like broadcast, but never shed: 0 at once when nobody here listens, else resolves with how
   * many sessions it was written to, once it was; throws GW_ERR_BROKER_UNAVAILABLE (nothing
   * queued) when the queue is over its bound.
   */
  deliver (publication: Publication): number | Promise<number> {
    if (!this.#registry.has(publication.topic)) return 0
    return this.#fanOut.deliver(publication)
  }

  /**
   * Several in order; resolves with the sessions written to in all (0 at once when nobody here
   * listens to any). All or nothing against the bound: throws GW_ERR_BROKER_UNAVAILABLE before
   * any is queued.
   */
  deliverAll (publications: readonly Publication[]): number | Promise<number> {
    let listened: Publication[] | null = null
    for (let i = 0; i < publications.length; i++) {
      const publication = publications[i] as Publication
      if (this.#registry.has(publication.topic)) (listened ??= []).push(publication)
    }
    return listened === null ? 0 : this.#fanOut.deliverAll(listened)
  }
}
