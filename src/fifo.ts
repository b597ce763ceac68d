// A first-in first-out queue: an array and a moving head index, so push and shift are O(1)
// (Array.prototype.shift moves every element). The consumed front is cut off once it is more than
// half of the array, so a queue that never empties under steady load does not grow without end.

/** Consumed slots before the front may be cut off (fewer are not worth a copy). */
const COMPACT_MIN = 1024

export class Fifo<T> {
  #items: Array<T | undefined> = []
  #head = 0

  get length (): number { return this.#items.length - this.#head }

  push (item: T): void { this.#items.push(item) }

  /** The oldest item, taken out; undefined when empty. */
  shift (): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined // let it be collected
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head > COMPACT_MIN && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** The item `index` places from the oldest (0: the oldest), left in place. */
  at (index: number): T | undefined {
    return this.#items[this.#head + index]
  }

  /** Every item, oldest first; the queue is empty afterwards. */
  takeAll (): T[] {
    const items = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return items
  }

  /** Keeps only the items `keep` says yes to, in order (O(n): for an occasional clean-up). */
  retain (keep: (item: T) => boolean): void {
    this.#items = (this.#items.slice(this.#head) as T[]).filter(keep)
    this.#head = 0
  }
}
