// The prom-client side of GET /metrics, loaded at the first scrape (src/metrics/registry.ts):
// prom-client's process and Node.js metrics (the process's own, registered once), then one app's
// figures: its counters and histograms (plain numbers in its GatewayStats, src/stats.ts, copied
// into prom-client when scraped) and its gauges (sessions, subscriptions, broker and database
// state) read from its GaugeSource. prom-client's process metrics (GC, event-loop lag) measure
// from the first scrape on, not from start.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { DROP_REASONS, type CounterName, type GatewayStats, type Tally } from '../stats.js'
import type { FastHistogram } from './fast-histogram.js'
import type { GaugeSource } from './gauge-source.js'

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
  ['publishPauses', 'Times a WAMP publisher stopped being read: over ORO_WEBSOCKET_PUBLISH_RATE_LIMIT or ORO_WEBSOCKET_MAX_PENDING_PUBLISHES, or its publications held until the hub\'s queue (ORO_WEBSOCKET_HUB_QUEUE_BYTES) had room'],
  ['fanoutYields', 'Times delivery paused for a turn of the event loop so other work is served (large fan-outs)'],
  ['publicationsShed', 'Publications from Redis not delivered because the hub\'s queue was over ORO_WEBSOCKET_HUB_QUEUE_BYTES (fan-outs slower than arrivals)']
]

function snake (name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())
}

/** The process's metrics: prom-client's default ones, shared by every app in the process. */
let processMetrics: Registry | null = null

/** prom-client's default metrics, once per process. */
export function processRegistry (): Registry {
  if (processMetrics !== null) return processMetrics
  processMetrics = new Registry()
  // CPU, RSS, heap, GC, event-loop lag, handles, ... (prom-client names, no prefix).
  collectDefaultMetrics({ register: processMetrics, eventLoopMonitoringPrecision: 20 })
  return processMetrics
}

/** One app's counters and histograms, read from its stats when scraped. */
function registerStats (stats: GatewayStats, logLinesDropped: () => number, registers: Registry[]): void {
  exposeHistogram('oro_ws_publish_to_write_seconds',
    'Time from a publication reaching this node\'s hub (from a local publisher, or from Redis) to its frame being written to the last local subscriber',
    [], [{ labels: {}, histogram: stats.publishToWrite }], registers)
  exposeHistogram('oro_ws_upgrade_auth_seconds',
    'Time taken to decide a WebSocket upgrade: origin, admission and ticket verification (outcome: accepted or refused)',
    ['outcome'], [{ labels: { outcome: 'accepted' }, histogram: stats.upgradeAuthAccepted }, { labels: { outcome: 'refused' }, histogram: stats.upgradeAuthRefused }], registers)
  for (const [name, help] of PLAIN) {
    new Counter({ // eslint-disable-line no-new
      name: `oro_ws_${snake(name)}_total`,
      help,
      registers,
      collect () { this.reset(); this.inc(stats[name]) }
    })
  }
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_log_lines_dropped_total',
    help: 'Log lines not written because stdout failed (a full disk, a closed pipe) or fell 16 MiB behind',
    registers,
    collect () { this.reset(); this.inc(logLinesDropped()) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_upgrades_rejected_total',
    help: 'WebSocket upgrades refused before the handshake, by reason (origin_forbidden, ticket_expired, auth_busy, shutdown, ...)',
    labelNames: ['reason'],
    registers,
    collect () { copyTally(this, 'reason', stats.upgradeRefusals) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_sessions_dropped_total',
    help: 'Sessions the gateway ended, by reason (slow_consumer, dead_peer, ping_flood, protocol_error, oversize_frame, session_fault, shutdown)',
    labelNames: ['reason'],
    registers,
    collect () {
      this.reset()
      for (const [reason, name] of DROP_REASONS) this.inc({ reason }, stats[name])
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_publish_requests_total',
    help: 'Publish requests by transport (wamp: one PUBLISH message; http: one POST /publish, maybe a batch) and outcome',
    labelNames: ['transport', 'outcome'],
    registers,
    collect () {
      this.reset()
      this.inc({ transport: 'wamp', outcome: 'ok' }, stats.wampPublishesOk)
      this.inc({ transport: 'wamp', outcome: 'refused' }, stats.publishesRefused)
      this.inc({ transport: 'wamp', outcome: 'unavailable' }, stats.publishesDropped)
      this.inc({ transport: 'wamp', outcome: 'unknown' }, stats.publishesUnconfirmed)
      const outcomes = stats.httpPublishOutcomes
      for (const outcome in outcomes) this.inc({ transport: 'http', outcome }, outcomes[outcome] as number)
    }
  })
}

function copyTally (counter: Counter<string>, label: string, values: Tally): void {
  counter.reset()
  for (const value in values) counter.inc({ [label]: value }, values[value] as number)
}

interface ExportedValue { labels: Record<string, string | number>, value: number, metricName: string }

/**
 * Registers FastHistograms under `name` as one histogram, a series per label set. A labelled
 * series shows once it has an observation (as prom-client's own labelled histograms do).
 */
function exposeHistogram (name: string, help: string, labelNames: string[], series: Array<{ labels: Record<string, string>, histogram: FastHistogram }>, registers: Registry[]): void {
  // A prom-client Histogram gives the registry its name, help and type; the values are ours.
  const bounds = series[0]?.histogram.bounds ?? []
  const exposed = new Histogram({ name, help, labelNames, buckets: [...bounds], registers })
  const read = async (): Promise<{ name: string, help: string, type: 'histogram', values: ExportedValue[], aggregator: 'sum' }> => {
    const values: ExportedValue[] = []
    for (const { labels, histogram } of series) {
      if (labelNames.length > 0 && histogram.count === 0) continue
      let cumulative = 0
      histogram.bounds.forEach((le, i) => {
        cumulative += histogram.counts[i] as number
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` })
      })
      values.push({ labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` })
      values.push({ labels, value: histogram.sum, metricName: `${name}_sum` })
      values.push({ labels, value: histogram.count, metricName: `${name}_count` })
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' }
  }
  Object.assign(exposed, { get: read, getForPromString: read })
}

/** One app's figures (its stats and gauges), read at each scrape. */
export function appRegistry (source: GaugeSource, stats: GatewayStats): Registry {
  const registry = new Registry()
  const registers = [registry]
  registerStats(stats, source.logLinesDropped ?? (() => 0), registers)
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
