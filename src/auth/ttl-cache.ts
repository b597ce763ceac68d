// A bounded map whose entries expire: Map keeps insertion order, so re-inserting on read makes
// the first key the least recently used one, evicted when the cache is full.

export class TtlCache<V> {
  readonly #maxEntries: number
  readonly #entries = new Map<string, { value: V, expiresAt: number }>()

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be an integer >= 0, got ${maxEntries}`)
    this.#maxEntries = maxEntries
  }

  get size (): number { return this.#entries.size }

  get (key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expiresAt <= now) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  /** Keeps value until the time expiresAt (same clock as get's now). */
  set (key: string, value: V, expiresAt: number): void {
    if (this.#maxEntries === 0) return
    this.#entries.delete(key)
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, { value, expiresAt })
  }

  delete (key: string): void {
    this.#entries.delete(key)
  }

  clear (): void {
    this.#entries.clear()
  }
}
