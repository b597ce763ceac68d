// What one app's gauges read at scrape time, and the session counts the status page shares:
// apart from registry.ts (which loads prom-registry.ts) so prom-registry.ts can name it too.

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
