// A bounded cache whose entries expire: lru-cache keeps the bound and the recency order (a read
// makes an entry the most recent; the least recent goes when the cache is full). Expiry is a
// time given by the owner on its own clock (tickets: wall-clock seconds; tests: fake clocks),
// checked on read; lru-cache's ttl reads a clock of its own, so it is not used.
//
// Bounded with maxSize (each entry weighs 1), not max: with max, lru-cache allocates its arrays
// for every entry up front (7 MB of RSS at start for the gateway's caches, measured); this way
// they grow with use.
import { LRUCache } from 'lru-cache'

interface Entry<V> { value: V, expiresAt: number }

const ONE = (): number => 1

export class TtlCache<V> {
  readonly #entries: LRUCache<string, Entry<V>> | null

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be an integer >= 0, got ${maxEntries}`)
    this.#entries = maxEntries === 0 ? null : new LRUCache({ maxSize: maxEntries, sizeCalculation: ONE })
  }

  get size (): number { return this.#entries?.size ?? 0 }

  get (key: string, now: number): V | undefined {
    const entry = this.#entries?.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#entries?.delete(key)
      return undefined
    }
    return entry.value
  }

  /** Keeps value until the time expiresAt (same clock as get's now). */
  set (key: string, value: V, expiresAt: number): void {
    this.#entries?.set(key, { value, expiresAt })
  }

  delete (key: string): void {
    this.#entries?.delete(key)
  }

  clear (): void {
    this.#entries?.clear()
  }
}
