// Keeps refusal logs from being a way to fill the disk: anything a client controls is clipped
// before it reaches a log line, and a repeated line is written at most once per interval, the
// next one carrying how many were left out. A line is keyed by its category (the gateway's own
// words: 'slow-consumer', 'protocol-error', 'subscribe:no-route') and optionally a detail (an
// address, a network): categories are a fixed set in the code, and only details come from
// clients. Memory is bounded per category: past maxKeys distinct details, the rest of that
// category share one, so a flood of distinct addresses or frames is one line and never pushes
// another category's lines (a slow consumer, a dropped publish) out.

/** A client-controlled value made safe for a log line: a string of at most max characters. */
export function clip (value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : String(value)
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`
}

export interface LogThrottleOptions {
  /** One line per key per this many ms. Default 60,000. */
  intervalMs?: number
  /** Distinct details remembered per category; past it, new ones share one. Default 200. */
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
  /** Category → detail ('' for none) → entry. */
  readonly #categories = new Map<string, Map<string, Entry>>()

  constructor (options: LogThrottleOptions = {}) {
    this.#interval = options.intervalMs ?? 60_000
    this.#maxKeys = options.maxKeys ?? 200
    this.#now = options.now ?? Date.now
  }

  /**
   * -1 when the line is to be left out now; otherwise the line is to be written, and the number
   * is how many lines of this category and detail were left out since the last one written. When
   * maxKeys details of the category are live, a new detail is counted under OTHER_KEY of that
   * category (the line written then stands for all of them). `category` must be one of the
   * gateway's own words, never client input.
   */
  take (category: string, detail = ''): number {
    let details = this.#categories.get(category)
    if (details === undefined) {
      details = new Map()
      this.#categories.set(category, details)
    }
    const now = this.#now()
    let entry = details.get(detail)
    if (entry === undefined) {
      if (details.size >= this.#maxKeys) this.#prune(details, now)
      if (details.size >= this.#maxKeys && detail !== OTHER_KEY) return this.take(category, OTHER_KEY)
      entry = { until: now + this.#interval, suppressed: 0 }
      details.set(detail, entry)
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

  /** Entries remembered, over all categories. */
  get size (): number {
    let size = 0
    for (const details of this.#categories.values()) size += details.size
    return size
  }

  // Forget details whose interval ended; what they still owed is carried by OTHER_KEY's next line.
  #prune (details: Map<string, Entry>, now: number): void {
    let owed = 0
    for (const [detail, entry] of details) {
      if (detail === OTHER_KEY || now < entry.until) continue
      owed += entry.suppressed
      details.delete(detail)
    }
    if (owed > 0) {
      const other = details.get(OTHER_KEY)
      if (other !== undefined) other.suppressed += owed
      else details.set(OTHER_KEY, { until: 0, suppressed: owed })
    }
  }
}
