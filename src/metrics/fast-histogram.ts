// A histogram for hot paths: observe() is a short loop over the bounds and three additions (no
// label hashing, no allocation). prom-client is not needed to observe: it reads these numbers when
// /metrics is scraped (src/metrics/prom-registry.ts), so it is loaded only then.

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

/**
 * A FastHistogram per value of one label (a few values, such as an outcome), each made at its first
 * observation: as with prom-client's labelled Histogram, a value never observed has no samples.
 */
export class LabelledFastHistogram {
  readonly label: string
  readonly bounds: readonly number[]
  /** By label value, in the order first observed. */
  readonly byValue = new Map<string, FastHistogram>()

  constructor (label: string, bounds: readonly number[]) {
    this.label = label
    this.bounds = bounds
  }

  observe (labels: Readonly<Record<string, string>>, value: number): void {
    const labelValue = labels[this.label] ?? ''
    let histogram = this.byValue.get(labelValue)
    if (histogram === undefined) this.byValue.set(labelValue, (histogram = new FastHistogram(this.bounds)))
    histogram.observe(value)
  }
}

/** One sample as prom-client's registry formats it (`sharedLabels` come after `le`). */
export interface HistogramSample {
  labels: Record<string, string | number>
  sharedLabels?: Record<string, string>
  value: number
  metricName: string
}

/** The samples of `histogram` in Prometheus' histogram format: cumulative buckets, +Inf, sum, count. */
export function histogramSamples (histogram: FastHistogram, name: string, shared?: Record<string, string>, into: HistogramSample[] = []): HistogramSample[] {
  const extra = shared === undefined ? {} : { sharedLabels: shared }
  let cumulative = 0
  histogram.bounds.forEach((le, i) => {
    cumulative += histogram.counts[i] as number
    into.push({ labels: { le }, ...extra, value: cumulative, metricName: `${name}_bucket` })
  })
  into.push({ labels: { le: '+Inf' }, ...extra, value: histogram.count, metricName: `${name}_bucket` })
  into.push({ labels: {}, ...extra, value: histogram.sum, metricName: `${name}_sum` })
  into.push({ labels: {}, ...extra, value: histogram.count, metricName: `${name}_count` })
  return into
}
