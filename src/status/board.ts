// What GET /status.json answers: the node's live figures, read from the app's plain counters
// (its GatewayStats, src/stats.ts) and the app's state through a StatusSource, with per-second rates and the
// chart's series from a History sampled once a second. The timer exists only while the status
// page is on (the board is made only then), is unref'ed, and stops with the app.
import { DROP_REASONS, type GatewayStats } from '../stats.js'
import type { SessionCounts } from '../metrics/registry.js'
import { History, round, type Sample } from './history.js'

export interface StatusSource {
  /** Open sessions and their subscriptions by kind. */
  sessions (): SessionCounts
  /** Open sessions (cheap: read once a second). */
  sessionCount (): number
  /** Topics with at least one local subscriber, and how many each has. */
  topics (): Iterable<string>
  subscriberCount (topic: string): number
  topicCount (): number
  /** /readyz's report and the server's state (starting, listening, draining, closing). */
  readiness (): { ready: boolean, checks: Record<string, string> }
  state (): string
  /** 'memory', 'redis', 'sentinel', 'cluster'. */
  brokerKind: string
  version: string
  /** The app's counters. */
  stats: GatewayStats
}

export interface StatusOptions {
  /** Topics listed by subscribers (the most first). */
  topTopics?: number
  /** Samples kept: the chart covers capacity × intervalMs. */
  capacity?: number
  intervalMs?: number
  /** For tests: the clock (ms). */
  now?: () => number
}

export interface TopicCount { topic: string, subscribers: number }

export interface StatusSnapshot {
  time: string
  version: string
  uptimeSeconds: number
  state: string
  ready: boolean
  checks: Record<string, string>
  broker: {
    kind: string
    state: string
    /** Gateway nodes on the broker, when it can tell (memory: 1); null = not known. */
    nodes: number | null
  }
  /** The user database's check, or null without ORO_DB_URL. */
  database: string | null
  connections: { browser: number, backend: number, total: number }
  subscriptions: { browser: number, backend: number, total: number }
  topics: { count: number, top: TopicCount[] }
  /** Per second, over the last few seconds. */
  rates: { publishes: number, deliveries: number, connectionsOpened: number, upgradesRefused: number, sessionsDropped: number }
  totals: { publishes: number, deliveries: number, connectionsOpened: number, connectionsClosed: number }
  /** Sessions the gateway ended, by reason (totals since start). */
  drops: Record<string, number>
  /** Upgrades refused before the handshake, by reason (totals since start). */
  refusals: Record<string, number>
  /** POST /publish requests by outcome (totals since start). */
  httpPublishes: Record<string, number>
  history: ReturnType<History['series']>
}

/** The `n` topics with the most subscribers (ties by name), without sorting every topic. */
export function topTopics (topics: Iterable<string>, count: (topic: string) => number, n: number): TopicCount[] {
  const top: TopicCount[] = []
  if (n <= 0) return top
  const before = (a: TopicCount, b: TopicCount): boolean => a.subscribers > b.subscribers || (a.subscribers === b.subscribers && a.topic < b.topic)
  for (const topic of topics) {
    const entry = { topic, subscribers: count(topic) }
    if (top.length === n) {
      if (!before(entry, top[n - 1] as TopicCount)) continue
      top.pop()
    }
    let i = top.length
    while (i > 0 && before(entry, top[i - 1] as TopicCount)) i--
    top.splice(i, 0, entry)
  }
  return top
}

function dropsTotal (stats: GatewayStats): number {
  let total = 0
  for (const [, name] of DROP_REASONS) total += stats[name]
  return total
}

function copy (tally: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const key of Object.keys(tally).sort()) out[key] = tally[key] as number
  return out
}

export class StatusBoard {
  readonly #source: StatusSource
  readonly #history: History
  readonly #now: () => number
  readonly #topN: number
  readonly #started: number
  #timer: NodeJS.Timeout | null = null

  constructor (source: StatusSource, options: StatusOptions = {}) {
    this.#source = source
    this.#now = options.now ?? (() => performance.now())
    this.#topN = options.topTopics ?? 10
    this.#history = new History(options.capacity ?? 300, options.intervalMs ?? 1000)
    this.#started = this.#now()
  }

  /** Samples kept (at most the capacity). */
  get samples (): number { return this.#history.size }

  /** Samples now and then every intervalMs until stop(); the timer does not keep the process up. */
  start (): void {
    if (this.#timer !== null) return
    this.sample()
    this.#timer = setInterval(() => { this.sample() }, this.#history.intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** Reads the counters once (a few property reads). */
  sample (): void {
    this.#history.record(this.#read())
  }

  #read (): Sample {
    const counters = this.#source.stats
    return {
      at: this.#now(),
      publishes: counters.publishesReceived,
      deliveries: counters.eventsDelivered,
      opened: counters.connectionsOpened,
      refused: counters.upgradesRejected,
      dropped: dropsTotal(counters),
      connections: this.#source.sessionCount()
    }
  }

  snapshot (): StatusSnapshot {
    const source = this.#source
    const sessions = source.sessions()
    const report = source.readiness()
    // Rates up to this moment: the latest sample plus a reading taken now.
    const rates = this.#history.rates(5, this.#read())
    const counters = source.stats
    const drops: Record<string, number> = {}
    for (const [reason, name] of DROP_REASONS) drops[reason] = counters[name]
    const brokerState = report.checks.broker ?? 'not known'
    return {
      time: new Date().toISOString(),
      version: source.version,
      uptimeSeconds: Math.round((this.#now() - this.#started) / 1000),
      state: source.state(),
      ready: report.ready,
      checks: report.checks,
      broker: { kind: source.brokerKind, state: brokerState, nodes: source.brokerKind === 'memory' ? 1 : null },
      database: report.checks.database ?? null,
      connections: { browser: sessions.browser, backend: sessions.backend, total: sessions.browser + sessions.backend },
      subscriptions: { browser: sessions.browserSubscriptions, backend: sessions.backendSubscriptions, total: sessions.browserSubscriptions + sessions.backendSubscriptions },
      topics: { count: source.topicCount(), top: topTopics(source.topics(), (t) => source.subscriberCount(t), this.#topN) },
      rates: {
        publishes: round(rates.publishes, 2),
        deliveries: round(rates.deliveries, 2),
        connectionsOpened: round(rates.opened, 2),
        upgradesRefused: round(rates.refused, 2),
        sessionsDropped: round(rates.dropped, 2)
      },
      totals: {
        publishes: counters.publishesReceived,
        deliveries: counters.eventsDelivered,
        connectionsOpened: counters.connectionsOpened,
        connectionsClosed: counters.connectionsClosed
      },
      drops,
      refusals: copy(counters.upgradeRefusals),
      httpPublishes: copy(counters.httpPublishOutcomes),
      history: this.#history.series()
    }
  }
}
