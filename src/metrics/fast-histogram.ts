// A histogram for hot paths: observe() is a short loop over the bounds and three additions (no
// label hashing, no allocation). prom-client reads it when scraped, as a Histogram whose get()
// answers from these numbers.
import { Histogram, type Registry } from 'prom-client'

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

interface ExportedValue { labels: Record<string, string | number>, value: number, metricName: string }

/** Registers `histogram` in `registers` under `name`, in Prometheus' histogram format. */
export function exposeHistogram (histogram: FastHistogram, name: string, help: string, registers: Registry[]): void {
  // A prom-client Histogram gives the registry its name, help and type; the values are ours.
  const exposed = new Histogram({ name, help, buckets: [...histogram.bounds], registers })
  const read = async (): Promise<{ name: string, help: string, type: 'histogram', values: ExportedValue[], aggregator: 'sum' }> => {
    const values: ExportedValue[] = []
    let cumulative = 0
    histogram.bounds.forEach((le, i) => {
      cumulative += histogram.counts[i] as number
      values.push({ labels: { le }, value: cumulative, metricName: `${name}_bucket` })
    })
    values.push({ labels: { le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` })
    values.push({ labels: {}, value: histogram.sum, metricName: `${name}_sum` })
    values.push({ labels: {}, value: histogram.count, metricName: `${name}_count` })
    return { name, help, type: 'histogram', values, aggregator: 'sum' }
  }
  Object.assign(exposed, { get: read, getForPromString: read })
}
