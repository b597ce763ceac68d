// Remembers which keys (client addresses) have been seen, so that the first event of a kind from
// each can be told apart (e.g. logged louder) from the repeats. Bounded: past `max` keys the
// oldest are forgotten (and would count as first again), so a flood of addresses costs no memory.

export class FirstSeen {
  readonly #max: number
  readonly #seen = new Set<string>()

  constructor (max = 10_000) {
    this.#max = max
  }

  /** True the first time `key` is given (since it was forgotten), false after. */
  first (key: string): boolean {
    if (this.#seen.has(key)) return false
    if (this.#seen.size >= this.#max) {
      const oldest = this.#seen.values().next()
      if (oldest.done !== true) this.#seen.delete(oldest.value)
    }
    this.#seen.add(key)
    return true
  }
}
