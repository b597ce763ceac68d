// Concurrent calls with the same key share one running promise (its result or its error), so a
// reconnect storm of identical requests costs one computation or one query.

export class SingleFlight<V> {
  readonly #running = new Map<string, Promise<V>>()
  #joined = 0

  /** Calls that found the same key already running and shared its promise. */
  get joined (): number { return this.#joined }

  async run (key: string, work: () => Promise<V>): Promise<V> {
    const running = this.#running.get(key)
    if (running !== undefined) {
      this.#joined++
      return await running
    }
    const promise = work().finally(() => this.#running.delete(key))
    this.#running.set(key, promise)
    return await promise
  }
}
