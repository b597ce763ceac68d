// Keeps refusal logs from being a way to fill the disk: anything a client controls is clipped
// before it reaches a log line, and a repeated line (same key) is written at most once per
// interval, the next one carrying how many were left out. Memory is bounded too: past maxKeys
// distinct keys, the rest share one key, so a flood of distinct values is still one line.

/** A client-controlled value made safe for a log line: a string of at most max characters. */
export function clip (value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : String(value)
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`
}

export interface LogThrottleOptions {
  /** One line per key per this many ms. Default 60,000. */
  intervalMs?: number
  /** Distinct keys remembered; past it, new keys share one. Default 200. */
  maxKeys?: number
  /** Clock in ms. Default Date.now. */
  now?: () => number
}

interface Entry { until: number, suppressed: number }

export const OTHER_KEY = '(other keys)'

export class LogThrottle {
  readonly #interval: number
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()

  constructor (options: LogThrottleOptions = {}) {
    this.#interval = options.intervalMs ?? 60_000
    this.#maxKeys = options.maxKeys ?? 200
    this.#now = options.now ?? Date.now
  }

  /**
   * -1 when the line for this key is to be left out now; otherwise the line is to be written, and
   * the number is how many lines of this key were left out since the last one written. When
   * maxKeys distinct keys are live, a new key is counted under OTHER_KEY (the line written then
   * stands for all of them).
   */
  take (key: string): number {
    const now = this.#now()
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      if (this.#entries.size >= this.#maxKeys) this.#prune(now)
      if (this.#entries.size >= this.#maxKeys && key !== OTHER_KEY) return this.take(OTHER_KEY)
      entry = { until: now + this.#interval, suppressed: 0 }
      this.#entries.set(key, entry)
      return 0
    }
    if (now < entry.until) {
      entry.suppressed++
      return -1
    }
    const suppressed = entry.suppressed
    entry.until = now + this.#interval
    entry.suppressed = 0
    return suppressed
  }

  get size (): number { return this.#entries.size }

  // Forget keys whose interval ended; what they still owed is carried by OTHER_KEY's next line.
  #prune (now: number): void {
    let owed = 0
    for (const [key, entry] of this.#entries) {
      if (key === OTHER_KEY || now < entry.until) continue
      owed += entry.suppressed
      this.#entries.delete(key)
    }
    if (owed > 0) {
      const other = this.#entries.get(OTHER_KEY)
      if (other !== undefined) other.suppressed += owed
      else this.#entries.set(OTHER_KEY, { until: 0, suppressed: owed })
    }
  }
}
