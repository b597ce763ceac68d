// A histogram for hot paths: observe() is a short loop over the bounds and three additions (no
// label hashing, no allocation). prom-client reads it when scraped (exposeHistogram in
// registry.ts); this file does not load prom-client.

export class FastHistogram {
  readonly bounds: readonly number[]
  /** Observations per bucket (not cumulative); the last slot is over the highest bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b)
    this.counts = new Float64Array(this.bounds.length + 1)
  }

  observe (value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }
}
