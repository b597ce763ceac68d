// The last minutes of the gateway's counters for the status page: a fixed ring of samples taken
// once a second (bounded memory: `capacity` samples of a few numbers), from which the page's
// per-second rates and its chart are computed. Pure: the caller takes the samples.

/** Running totals and gauges read at one moment (totals only grow; gauges go up and down). */
export interface Sample {
  /** When it was taken (ms, any monotonic clock). */
  at: number
  /** Totals. */
  publishes: number
  deliveries: number
  opened: number
  refused: number
  dropped: number
  /** Gauge: open sessions. */
  connections: number
}

export type RateName = 'publishes' | 'deliveries' | 'opened' | 'refused' | 'dropped'
export const RATE_NAMES: readonly RateName[] = ['publishes', 'deliveries', 'opened', 'refused', 'dropped']

export type Rates = Record<RateName, number>

/** The chart's series, oldest first: a rate per interval between samples, and the gauge at its end. */
export interface Series {
  /** Seconds between samples (nominal). */
  intervalSeconds: number
  /** Age of each point in seconds (0 = the latest sample), oldest first. */
  ages: number[]
  publishes: number[]
  deliveries: number[]
  connections: number[]
}

export class History {
  readonly #samples: Array<Sample | undefined>
  #next = 0
  #size = 0

  constructor (readonly capacity: number, readonly intervalMs: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('a history keeps at least 2 samples')
    this.#samples = new Array<Sample | undefined>(capacity)
  }

  get size (): number { return this.#size }

  record (sample: Sample): void {
    this.#samples[this.#next] = sample
    this.#next = (this.#next + 1) % this.capacity
    if (this.#size < this.capacity) this.#size++
  }

  /** The i-th sample, 0 = the oldest kept. */
  #at (i: number): Sample {
    return this.#samples[(this.#next - this.#size + i + this.capacity) % this.capacity] as Sample
  }

  latest (): Sample | undefined {
    return this.#size === 0 ? undefined : this.#at(this.#size - 1)
  }

  /**
   * Per-second rates over the last `windowSeconds` (or all that is kept, if less): smoother than
   * the last interval alone. Zero until two samples exist. A total that went down (counters reset
   * in tests) counts as no change.
   */
  rates (windowSeconds = 5, now?: Sample): Rates {
    const rates: Rates = { publishes: 0, deliveries: 0, opened: 0, refused: 0, dropped: 0 }
    const last = now ?? this.latest()
    if (last === undefined || this.#size === 0) return rates
    // The oldest kept sample at least windowSeconds before `last`, else the oldest there is.
    let first = this.#at(0)
    for (let i = this.#size - 1; i >= 0; i--) {
      const sample = this.#at(i)
      if (last.at - sample.at >= windowSeconds * 1000) { first = sample; break }
    }
    const seconds = (last.at - first.at) / 1000
    if (seconds <= 0) return rates
    for (const name of RATE_NAMES) rates[name] = Math.max(0, last[name] - first[name]) / seconds
    return rates
  }

  series (): Series {
    const series: Series = { intervalSeconds: this.intervalMs / 1000, ages: [], publishes: [], deliveries: [], connections: [] }
    if (this.#size < 2) return series
    const last = this.#at(this.#size - 1)
    for (let i = 1; i < this.#size; i++) {
      const before = this.#at(i - 1)
      const sample = this.#at(i)
      const seconds = (sample.at - before.at) / 1000
      series.ages.push(round((last.at - sample.at) / 1000, 1))
      series.publishes.push(seconds > 0 ? round(Math.max(0, sample.publishes - before.publishes) / seconds, 2) : 0)
      series.deliveries.push(seconds > 0 ? round(Math.max(0, sample.deliveries - before.deliveries) / seconds, 2) : 0)
      series.connections.push(sample.connections)
    }
    return series
  }
}

export function round (value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
