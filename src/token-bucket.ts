// A token bucket: up to `capacity` tokens, refilled continuously at `perMs` tokens a millisecond.
// The caller passes the time (its own clock, ms), so one class serves request rates, failure
// budgets and time budgets alike, and tests drive it with a fake clock.

export class TokenBucket {
  readonly capacity: number
  readonly perMs: number
  #tokens: number
  #at: number

  /** Full unless `tokens` says otherwise, as of `now`. */
  constructor (capacity: number, perMs: number, now: number, tokens = capacity) {
    this.capacity = capacity
    this.perMs = perMs
    this.#tokens = tokens
    this.#at = now
  }

  /** Tokens left at `now` (refilled up to it, never above capacity). */
  level (now: number): number {
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) * this.perMs)
    this.#at = now
    return this.#tokens
  }

  /** Takes one token when there is one at `now`; false (nothing taken) when there is none. */
  tryTake (now: number): boolean {
    const tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) * this.perMs)
    this.#at = now
    const taken = tokens >= 1
    this.#tokens = taken ? tokens - 1 : tokens
    return taken
  }

  /** Spends `amount` at `now` whether or not it is there: the level may go below zero, not below `floor`. */
  spend (amount: number, now: number, floor = -Infinity): void {
    this.#tokens = Math.max(floor, this.level(now) - amount)
  }

  /** Milliseconds from the last refill until one whole token is there (0 when there is one). */
  msUntilOne (): number {
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.perMs
  }
}
