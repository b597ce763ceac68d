// The Prometheus registry behind GET /metrics: prom-client's process and Node.js metrics, the
// gateway's counters (plain numbers in src/metrics.ts, copied into prom-client when scraped), and
// the gauges of one app (sessions, subscriptions, broker and database state) read from `source`.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { counters, httpPublishOutcomes, processRegistry, upgradeRefusals, type CounterName, type Tally } from '../metrics.js'

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
}

// The counters kept under the names they had before prom-client (dashboards use them).
const PLAIN: Array<[CounterName, string]> = [
  ['connectionsOpened', 'WebSocket sessions opened'],
  ['connectionsClosed', 'WebSocket sessions closed, for any reason'],
  ['protocolErrors', 'Sessions closed with 1007 for a frame that is not WAMP v1'],
  ['oversizeFrames', 'Sessions closed with 1009 for a message over their limit (browser or backend)'],
  ['slowConsumerDrops', 'Sessions dropped because their unsent bytes passed the cap'],
  ['deadPeerDrops', 'Sessions dropped after missing two pings in a row'],
  ['subscribesRefused', 'SUBSCRIBE messages refused (no route, private topic, limits)'],
  ['publishesRefused', 'PUBLISH messages refused (not a backend session, no route, server-only topic)'],
  ['publishesReceived', 'Publications accepted (WAMP PUBLISH and POST /publish)'],
  ['publishesDropped', 'Publications accepted from WAMP that the broker could not take'],
  ['publishesUnconfirmed', 'Publications accepted from WAMP that Redis took but did not confirm (maybe delivered)'],
  ['eventsDelivered', 'EVENT frames written to local sessions'],
  ['sessionFaults', 'Sessions closed with 1011 because handling them failed (a bug; the log has the error)'],
  ['publishPauses', 'Times a WAMP publisher stopped being read: over ORO_WEBSOCKET_PUBLISH_RATE_LIMIT or ORO_WEBSOCKET_MAX_PENDING_PUBLISHES'],
  ['fanoutYields', 'Times delivery paused for a turn of the event loop so other work is served (large fan-outs)'],
  ['publicationsShed', 'Publications from Redis not delivered because the hub\'s queue was over ORO_WEBSOCKET_HUB_QUEUE_BYTES (fan-outs slower than arrivals)'],
  ['logLinesDropped', 'Log lines not written because stdout failed (a full disk, a closed pipe) or fell 16 MiB behind']
]

/** Sessions the gateway ended, by reason, from the plain counters (also on the status page). */
export const DROP_REASONS: Array<[string, CounterName]> = [
  ['slow_consumer', 'slowConsumerDrops'],
  ['dead_peer', 'deadPeerDrops'],
  ['ping_flood', 'pingFloodDrops'],
  ['protocol_error', 'protocolErrors'],
  ['oversize_frame', 'oversizeFrames'],
  ['session_fault', 'sessionFaults'],
  ['shutdown', 'shutdownDrops']
]

function snake (name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())
}

let processMetricsReady = false

/** prom-client's default metrics and the gateway's counters, once per process. */
function processMetrics (): Registry {
  if (processMetricsReady) return processRegistry
  processMetricsReady = true
  // CPU, RSS, heap, GC, event-loop lag, handles, ... (prom-client names, no prefix).
  collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 20 })
  for (const [name, help] of PLAIN) {
    const value = counters
    new Counter({ // eslint-disable-line no-new
      name: `oro_ws_${snake(name)}_total`,
      help,
      registers: [processRegistry],
      collect () { this.reset(); this.inc(value[name]) }
    })
  }
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_upgrades_rejected_total',
    help: 'WebSocket upgrades refused before the handshake, by reason (origin_forbidden, ticket_expired, auth_busy, shutdown, ...)',
    labelNames: ['reason'],
    registers: [processRegistry],
    collect () { copyTally(this, 'reason', upgradeRefusals) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_sessions_dropped_total',
    help: 'Sessions the gateway ended, by reason (slow_consumer, dead_peer, ping_flood, protocol_error, oversize_frame, session_fault, shutdown)',
    labelNames: ['reason'],
    registers: [processRegistry],
    collect () {
      this.reset()
      for (const [reason, name] of DROP_REASONS) this.inc({ reason }, counters[name])
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_publish_requests_total',
    help: 'Publish requests by transport (wamp: one PUBLISH message; http: one POST /publish, maybe a batch) and outcome',
    labelNames: ['transport', 'outcome'],
    registers: [processRegistry],
    collect () {
      this.reset()
      this.inc({ transport: 'wamp', outcome: 'ok' }, counters.wampPublishesOk)
      this.inc({ transport: 'wamp', outcome: 'refused' }, counters.publishesRefused)
      this.inc({ transport: 'wamp', outcome: 'unavailable' }, counters.publishesDropped)
      this.inc({ transport: 'wamp', outcome: 'unknown' }, counters.publishesUnconfirmed)
      for (const outcome in httpPublishOutcomes) this.inc({ transport: 'http', outcome }, httpPublishOutcomes[outcome] as number)
    }
  })
  return processRegistry
}

function copyTally (counter: Counter<string>, label: string, values: Tally): void {
  counter.reset()
  for (const value in values) counter.inc({ [label]: value }, values[value] as number)
}

/** One app's gauges; scrape with scrapeMetrics(). */
export function createAppRegistry (source: GaugeSource): Registry {
  processMetrics()
  const registry = new Registry()
  const registers = [registry]
  // One read of the sessions per scrape, shared by the gauges that need it.
  let snapshot: ReturnType<GaugeSource['sessions']> | null = null
  const sessions = (): ReturnType<GaugeSource['sessions']> => (snapshot ??= source.sessions())
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_sessions',
    help: 'Open WebSocket sessions on this node',
    registers,
    collect () { snapshot = null; const s = sessions(); this.set(s.browser + s.backend) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_connections',
    help: 'Open WebSocket sessions on this node by kind (backend: may publish; browser: the others)',
    labelNames: ['kind'],
    registers,
    collect () { const s = sessions(); this.set({ kind: 'browser' }, s.browser); this.set({ kind: 'backend' }, s.backend) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_subscriptions',
    help: 'Subscriptions of the open sessions on this node, by kind of session',
    labelNames: ['kind'],
    registers,
    collect () { const s = sessions(); this.set({ kind: 'browser' }, s.browserSubscriptions); this.set({ kind: 'backend' }, s.backendSubscriptions) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_topics',
    help: 'Topics with at least one local subscriber',
    registers,
    collect () { this.set(source.topicCount()) }
  })
  let report: ReturnType<GaugeSource['readiness']> | null = null
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_ready',
    help: '1 when /readyz answers 200',
    registers,
    collect () { report = source.readiness(); this.set(report.ready ? 1 : 0) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_broker_up',
    help: '1 when the broker takes publications (memory, or Redis connected and answering)',
    registers,
    collect () { this.set((report ?? source.readiness()).checks.broker === 'ok' ? 1 : 0) }
  })
  // Only with a database (ORO_DB_URL): its readiness check exists from the start.
  if (source.readiness().checks.database !== undefined) {
    new Gauge({ // eslint-disable-line no-new
      name: 'oro_ws_database_up',
      help: '1 when the user database (ORO_DB_DSN or ORO_DB_URL) answers',
      registers,
      collect () { this.set((report ?? source.readiness()).checks.database === 'ok' ? 1 : 0) }
    })
  }
  const admission = source.admission
  if (admission !== undefined) {
    new Gauge({ // eslint-disable-line no-new
      name: 'oro_ws_auth_waiting',
      help: 'Upgrades waiting for their turn to have their ticket verified (held, not answered yet), by admission lane',
      labelNames: ['lane'],
      registers,
      collect () { const a = admission(); this.set({ lane: 'clean' }, a.waiting - a.suspectWaiting); this.set({ lane: 'suspect' }, a.suspectWaiting) }
    })
    new Gauge({ // eslint-disable-line no-new
      name: 'oro_ws_auth_verifying',
      help: 'Upgrades whose ticket is being verified now',
      registers,
      collect () { this.set(admission().running) }
    })
  }
  const memory = (): NodeJS.MemoryUsage => process.memoryUsage()
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_resident_memory_bytes',
    help: 'Resident set size of the process (kept for older dashboards; process_resident_memory_bytes is the same)',
    registers,
    collect () { this.set(memory().rss) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'oro_ws_heap_used_bytes',
    help: 'V8 heap in use (kept for older dashboards; nodejs_heap_size_used_bytes is the same)',
    registers,
    collect () { this.set(memory().heapUsed) }
  })
  return registry
}

export const METRICS_CONTENT_TYPE = processRegistry.contentType

/** The text of a scrape: the process's metrics, then the app's. */
export async function scrapeMetrics (app: Registry): Promise<string> {
  return await processMetrics().metrics() + await app.metrics()
}
