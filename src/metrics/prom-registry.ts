// The prom-client side of GET /metrics, loaded at the first scrape (src/metrics/registry.ts): the
// process's registry (prom-client's process and Node.js metrics, the gateway's histograms, and its
// counters: plain numbers in src/metrics.ts, copied into prom-client when scraped), and the gauges
// of one app (sessions, subscriptions, broker and database state) read from its GaugeSource.
// prom-client's process metrics (GC, event-loop lag) measure from here on, not from start.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { counters, httpPublishOutcomes, publishToWrite, upgradeAuthDuration, upgradeRefusals, type CounterName, type Tally } from '../metrics.js'
import { histogramSamples, type HistogramSample } from './fast-histogram.js'
import { DROP_REASONS, type GaugeSource } from './registry.js'

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

/** A prom-client Histogram gives the registry its name, help and type; the samples are ours. */
function exposeHistogram (registry: Registry, name: string, help: string, bounds: readonly number[], labelNames: string[], samples: () => HistogramSample[]): void {
  const exposed = new Histogram({ name, help, labelNames, buckets: [...bounds], registers: [registry] })
  const read = async (): Promise<{ name: string, help: string, type: 'histogram', values: HistogramSample[], aggregator: 'sum' }> =>
    ({ name, help, type: 'histogram', values: samples(), aggregator: 'sum' })
  Object.assign(exposed, { get: read, getForPromString: read })
}

function snake (name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())
}

/**
 * Process-wide metrics. The registry is the process's (several apps in one process, as in tests,
 * share it, as they share `counters`).
 */
let processMetrics: Registry | null = null

/** prom-client's default metrics, the gateway's histograms and counters, once per process. */
export function processRegistry (): Registry {
  if (processMetrics !== null) return processMetrics
  const registry = processMetrics = new Registry()
  // In the order they were registered when prom-client was loaded at start: the histograms first.
  exposeHistogram(registry, 'oro_ws_publish_to_write_seconds',
    'Time from a publication reaching this node\'s hub (from a local publisher, or from Redis) to its frame being written to the last local subscriber',
    publishToWrite.bounds, [], () => histogramSamples(publishToWrite, 'oro_ws_publish_to_write_seconds'))
  exposeHistogram(registry, 'oro_ws_upgrade_auth_seconds',
    'Time taken to decide a WebSocket upgrade: origin, admission and ticket verification (outcome: accepted or refused)',
    upgradeAuthDuration.bounds, [upgradeAuthDuration.label], () => {
      const samples: HistogramSample[] = []
      for (const [outcome, histogram] of upgradeAuthDuration.byValue) histogramSamples(histogram, 'oro_ws_upgrade_auth_seconds', { [upgradeAuthDuration.label]: outcome }, samples)
      return samples
    })
  // CPU, RSS, heap, GC, event-loop lag, handles, ... (prom-client names, no prefix).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  for (const [name, help] of PLAIN) {
    const value = counters
    new Counter({ // eslint-disable-line no-new
      name: `oro_ws_${snake(name)}_total`,
      help,
      registers: [registry],
      collect () { this.reset(); this.inc(value[name]) }
    })
  }
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_upgrades_rejected_total',
    help: 'WebSocket upgrades refused before the handshake, by reason (origin_forbidden, ticket_expired, auth_busy, shutdown, ...)',
    labelNames: ['reason'],
    registers: [registry],
    collect () { copyTally(this, 'reason', upgradeRefusals) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_sessions_dropped_total',
    help: 'Sessions the gateway ended, by reason (slow_consumer, dead_peer, ping_flood, protocol_error, oversize_frame, session_fault, shutdown)',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [reason, name] of DROP_REASONS) this.inc({ reason }, counters[name])
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'oro_ws_publish_requests_total',
    help: 'Publish requests by transport (wamp: one PUBLISH message; http: one POST /publish, maybe a batch) and outcome',
    labelNames: ['transport', 'outcome'],
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ transport: 'wamp', outcome: 'ok' }, counters.wampPublishesOk)
      this.inc({ transport: 'wamp', outcome: 'refused' }, counters.publishesRefused)
      this.inc({ transport: 'wamp', outcome: 'unavailable' }, counters.publishesDropped)
      this.inc({ transport: 'wamp', outcome: 'unknown' }, counters.publishesUnconfirmed)
      for (const outcome in httpPublishOutcomes) this.inc({ transport: 'http', outcome }, httpPublishOutcomes[outcome] as number)
    }
  })
  return registry
}

function copyTally (counter: Counter<string>, label: string, values: Tally): void {
  counter.reset()
  for (const value in values) counter.inc({ [label]: value }, values[value] as number)
}

/** One app's gauges, read from `source` at each scrape. */
export function appRegistry (source: GaugeSource): Registry {
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
