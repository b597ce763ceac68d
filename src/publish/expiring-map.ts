// A map whose entries expire after a window and whose size is capped, oldest out first, in O(1)
// per operation. Insertion order is kept in a queue of its own: walking a Map from its start to
// find the oldest entries would step over every slot deleted before (V8 keeps them until it
// rehashes), which made a full store 20-50x slower.

interface Slot<V> { key: string, at: number, value: V }

export class ExpiringMap<V> {
  readonly #entries = new Map<string, Slot<V>>()
  /** Slots in insertion order; those deleted or replaced since are skipped when they come up. */
  #queue: Array<Slot<V>> = []
  #head = 0
  readonly #windowMs: number
  readonly #maxEntries: number
  readonly #now: () => number

  constructor (windowMs: number, maxEntries: number, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#maxEntries = maxEntries
    this.#now = now
  }

  get size (): number { return this.#entries.size }

  /** The value, unless it expired. */
  get (key: string): V | undefined {
    const slot = this.#entries.get(key)
    if (slot === undefined) return undefined
    if (slot.at < this.#now() - this.#windowMs) {
      this.#entries.delete(key)
      return undefined
    }
    return slot.value
  }

  set (key: string, value: V): void {
    this.#evict()
    const slot = { key, at: this.#now(), value }
    this.#entries.set(key, slot)
    this.#queue.push(slot)
    // Over the cap: the oldest goes (skipped slots are popped on the way, each once).
    while (this.#entries.size > this.#maxEntries) this.#popOldest()
  }

  delete (key: string): void {
    this.#entries.delete(key)
  }

  /** Drops expired entries from the front of the queue; each slot is popped once. */
  #evict (): void {
    const limit = this.#now() - this.#windowMs
    while (this.#head < this.#queue.length) {
      const slot = this.#queue[this.#head] as Slot<V>
      const live = this.#entries.get(slot.key) === slot
      if (live && slot.at >= limit) break
      if (live) this.#entries.delete(slot.key)
      this.#shift()
    }
    // Slots deleted early (failed requests) can pile up behind a live head: compact them away
    // once they outnumber the live entries, so the queue stays within twice the cap.
    if (this.#queue.length - this.#head > 2 * Math.max(this.#entries.size, 1024)) {
      this.#queue = this.#queue.slice(this.#head).filter((slot) => this.#entries.get(slot.key) === slot)
      this.#head = 0
    }
  }

  #popOldest (): void {
    while (this.#head < this.#queue.length) {
      const slot = this.#queue[this.#head] as Slot<V>
      this.#shift()
      if (this.#entries.get(slot.key) === slot) {
        this.#entries.delete(slot.key)
        return
      }
    }
  }

  #shift (): void {
    this.#queue[this.#head] = undefined as unknown as Slot<V>
    this.#head++
    // Reclaim the consumed front now and then (amortized O(1)).
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
