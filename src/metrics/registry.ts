// What GET /metrics shows, without prom-client: the app's handle (what its gauges read and its
// stats), the scrape, and the session counts the status page shares. prom-client (its registry,
// default metrics and the gauges: src/metrics/prom-registry.ts) is loaded at the first scrape, not
// at start: ~1.5 MB of heap and ~90 modules (with @opentelemetry/api) a node not scraped never needs.
import type { Registry } from 'prom-client'
import type { GatewayStats } from '../stats.js'
import type { GaugeSource } from './gauge-source.js'

export { countSessions, type GaugeSource, type SessionCounts } from './gauge-source.js'

/** One app's metrics: its gauges' source and stats now, its prom-client registry from the first scrape. */
export interface AppMetrics {
  readonly source: GaugeSource
  readonly stats: GatewayStats
  registry: Registry | null
}

/** One app's metrics; scrape with scrapeMetrics(). */
export function createAppRegistry (source: GaugeSource, stats: GatewayStats): AppMetrics {
  return { source, stats, registry: null }
}

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE (text format 0.0.4), known before it is loaded. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** The text of a scrape: the process's metrics, then the app's. Loads prom-client the first time. */
export async function scrapeMetrics (app: AppMetrics): Promise<string> {
  const prom = await import('./prom-registry.js')
  app.registry ??= prom.appRegistry(app.source, app.stats)
  return await prom.processRegistry().metrics() + await app.registry.metrics()
}
