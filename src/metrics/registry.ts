// What GET /metrics shows, without prom-client: the app's handle (what its gauges read and its
// stats), the scrape, and the session counts the status page shares. prom-client (its registry,
// default metrics and the gauges: src/metrics/prom-registry.ts) is loaded at the first scrape, not
// at start: ~1.5 MB of heap and ~90 modules (with @opentelemetry/api) a node not scraped never needs.
import type { Registry } from 'prom-client'
import type { GatewayStats } from '../stats.js'

/** Open sessions and their subscriptions, by kind (backend: may publish). */
export interface SessionCounts { browser: number, backend: number, browserSubscriptions: number, backendSubscriptions: number }

/** Counts the open sessions by kind (for /metrics and the status page). */
export function countSessions (sessions: Iterable<{ canPublish: boolean, subscriptionCount: number }>): SessionCounts {
  const counts: SessionCounts = { browser: 0, backend: 0, browserSubscriptions: 0, backendSubscriptions: 0 }
  for (const session of sessions) {
    if (session.canPublish) { counts.backend++; counts.backendSubscriptions += session.subscriptionCount } else { counts.browser++; counts.browserSubscriptions += session.subscriptionCount }
  }
  return counts
}

/** What one app tells the registry at scrape time. */
export interface GaugeSource {
  /** Open sessions and their subscriptions, by kind. */
  sessions (): SessionCounts
  /** Topics with at least one local subscriber. */
  topicCount (): number
  /** /readyz's checks: { server: 'ok', broker: 'ok', database?: ... }. */
  readiness (): { ready: boolean, checks: Record<string, string> }
  /** Upgrades waiting for their ticket verification (all lanes, and of them the suspect lane) and being verified. */
  admission? (): { waiting: number, suspectWaiting: number, running: number }
  /** Log lines the process's stdout destination dropped (src/log-destination.ts, read through src/logger.ts). */
  logLinesDropped? (): number
}

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
