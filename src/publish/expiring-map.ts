// A map whose entries expire after a window, bounded in bytes (each entry says what it holds, as
// estimated by its owner), in O(1) per operation. A live entry is never evicted to make room:
// when the bytes are spent, set() refuses and the owner refuses its request (issue 18: a count
// cap evicted entries still inside the window, so a retry could be delivered twice, and a
// pending one could vanish). Insertion order is kept in a queue of its own: walking a Map from its
// start to find the oldest entries would step over every slot deleted before (V8 keeps them until
// it rehashes), which made a full store 20-50x slower.
import { Fifo } from '../fifo.js'

interface Slot<V> { key: string, at: number, value: V, bytes: number }

export class ExpiringMap<V> {
  readonly #entries = new Map<string, Slot<V>>()
  /** Slots in insertion order; those deleted or replaced since are skipped when they come up. */
  readonly #queue = new Fifo<Slot<V>>()
  #bytes = 0
  readonly #windowMs: number
  readonly #maxBytes: number
  readonly #now: () => number

  constructor (windowMs: number, maxBytes: number, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#maxBytes = maxBytes
    this.#now = now
  }

  get size (): number { return this.#entries.size }
  /** Bytes the live entries hold (their owners' estimates). */
  get bytes (): number { return this.#bytes }
  get maxBytes (): number { return this.#maxBytes }

  /** The value, unless it expired. */
  get (key: string): V | undefined {
    const slot = this.#entries.get(key)
    if (slot === undefined) return undefined
    if (slot.at < this.#now() - this.#windowMs) {
      this.#remove(slot)
      return undefined
    }
    return slot.value
  }

  /** True when `bytes` more would fit now (expired entries dropped first). */
  fits (bytes: number): boolean {
    this.#evict()
    return this.#bytes + bytes <= this.#maxBytes
  }

  /** Stores (or replaces) the entry; false, storing nothing, when it does not fit. */
  set (key: string, value: V, bytes: number): boolean {
    this.#evict()
    const old = this.#entries.get(key)
    const freed = old === undefined ? 0 : old.bytes
    if (this.#bytes - freed + bytes > this.#maxBytes) return false
    if (old !== undefined) this.#remove(old)
    const slot = { key, at: this.#now(), value, bytes }
    this.#entries.set(key, slot)
    this.#bytes += bytes
    this.#queue.push(slot)
    return true
  }

  delete (key: string): void {
    const slot = this.#entries.get(key)
    if (slot !== undefined) this.#remove(slot)
  }

  /** Milliseconds until the oldest live entry expires (and frees its bytes); 0 when empty. */
  oldestExpiresInMs (): number {
    this.#evict()
    for (let i = 0; i < this.#queue.length; i++) {
      const slot = this.#queue.at(i) as Slot<V>
      if (this.#entries.get(slot.key) === slot) return Math.max(0, slot.at + this.#windowMs - this.#now())
    }
    return 0
  }

  #remove (slot: Slot<V>): void {
    this.#entries.delete(slot.key)
    this.#bytes -= slot.bytes
  }

  /** Drops expired entries from the front of the queue; each slot is popped once. */
  #evict (): void {
    const limit = this.#now() - this.#windowMs
    for (let slot = this.#queue.at(0); slot !== undefined; slot = this.#queue.at(0)) {
      const live = this.#entries.get(slot.key) === slot
      if (live && slot.at >= limit) break
      if (live) this.#remove(slot)
      this.#queue.shift()
    }
    // Slots deleted early (failed requests) can pile up behind a live head: compact them away
    // once they outnumber the live entries, so the queue stays within twice their number.
    if (this.#queue.length > 2 * Math.max(this.#entries.size, 1024)) {
      this.#queue.retain((slot) => this.#entries.get(slot.key) === slot)
    }
  }
}
