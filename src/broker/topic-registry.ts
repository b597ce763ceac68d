// Who on this node listens to what: the local sessions (by id) and, per topic, the set of its
// subscribers. The broker is told when a topic gets its first local subscriber and loses its last
// one (TopicInterest). Nothing here writes: the fan-out (fan-out.ts) reads the sets.

export interface HubClient {
  readonly id: string
  /** Writes a ready-made frame; false when the client is gone or was dropped for being slow. */
  write (frame: Buffer): boolean
}

export interface TopicInterest {
  first (topic: string): void
  last (topic: string): void
}

export class TopicRegistry {
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

  /** Removes the client from the given topics (its subscriptions) and from the registry. */
  removeClient (client: HubClient, topics: Iterable<string>): void {
    for (const topic of topics) this.unsubscribe(topic, client)
    this.#clients.delete(client.id)
  }

  /** The local client with this session id. */
  client (id: string): HubClient | undefined {
    return this.#clients.get(id)
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

  /** The topic's local subscribers; undefined when it has none. */
  subscribers (topic: string): ReadonlySet<HubClient> | undefined {
    return this.#topics.get(topic)
  }

  has (topic: string): boolean { return this.#topics.has(topic) }
  subscriberCount (topic: string): number { return this.#topics.get(topic)?.size ?? 0 }
  get topicCount (): number { return this.#topics.size }
  get clientCount (): number { return this.#clients.size }
  topics (): IterableIterator<string> { return this.#topics.keys() }
}
