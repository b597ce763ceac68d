// What one app counts, as plain numbers: incrementing one on a hot path is a property write. The
// composition root (app.ts) makes one per app and hands it down with the log and the throttle
// (SessionContext, Hub and broker options, KeepAlive, routes, the status board), so two apps in
// one process (tests) never share figures. /metrics reads it at scrape time
// (src/metrics/registry.ts); nothing here loads prom-client.
import { FastHistogram } from './metrics/fast-histogram.js'

/** A counter per label value (a reason, an outcome): few values, each a property on one object. */
export type Tally = Record<string, number>

function tally (): Tally { return Object.create(null) as Tally }

/**
 * Buckets from 100 µs to 10 s: a delivery is sub-millisecond unless a fan-out yields or Redis is
 * slow. Observed once per publication that reached a local subscriber (cheap: see FastHistogram).
 */
export const PUBLISH_TO_WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

/** Buckets from 1 ms (origin refused, anonymous) to 10 s (a queue of ticket verifications). */
export const UPGRADE_AUTH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class GatewayStats {
  connectionsOpened = 0
  connectionsClosed = 0
  protocolErrors = 0
  oversizeFrames = 0
  slowConsumerDrops = 0
  deadPeerDrops = 0
  /** Sessions dropped for sending pings faster than they read the pongs. */
  pingFloodDrops = 0
  /** Sessions dropped because the gateway began to drain (counted when the drain starts). */
  shutdownDrops = 0
  subscribesRefused = 0
  publishesRefused = 0
  publishesReceived = 0
  publishesDropped = 0
  publishesUnconfirmed = 0
  /** WAMP publications the broker took (the success side of publishesDropped/Unconfirmed). */
  wampPublishesOk = 0
  eventsDelivered = 0
  upgradesRejected = 0
  sessionFaults = 0
  publishPauses = 0
  fanoutYields = 0
  /** Publications from Redis not delivered: the hub's queue was over ORO_WEBSOCKET_HUB_QUEUE_BYTES. */
  publicationsShed = 0

  /** Upgrades refused before the handshake, by reason (see upgradeRefused). */
  readonly upgradeRefusals: Tally = tally()
  /** POST /publish requests by outcome (ok, refused, unauthorized, rate_limited, unavailable, unknown, error). */
  readonly httpPublishOutcomes: Tally = tally()

  /** From a publication reaching the hub to its frame written to the last local subscriber. */
  readonly publishToWrite = new FastHistogram(PUBLISH_TO_WRITE_BUCKETS)
  /** Time taken to decide an upgrade, by outcome (one histogram with an `outcome` label on /metrics). */
  readonly upgradeAuthAccepted = new FastHistogram(UPGRADE_AUTH_BUCKETS)
  readonly upgradeAuthRefused = new FastHistogram(UPGRADE_AUTH_BUCKETS)

  /**
   * Counts an upgrade refused before the handshake. `reason` is a short snake_case word
   * ('origin', 'shutdown', 'auth_busy', ...) or an error code (GW_ERR_TICKET_EXPIRED becomes
   * 'ticket_expired'): the values are the gateway's own, so the label stays small.
   */
  upgradeRefused (reason: string | undefined): void {
    this.upgradesRejected++
    const label = reasonLabel(reason)
    this.upgradeRefusals[label] = (this.upgradeRefusals[label] ?? 0) + 1
  }

  /** Counts one POST /publish answer by its outcome. */
  httpPublished (outcome: string): void {
    this.httpPublishOutcomes[outcome] = (this.httpPublishOutcomes[outcome] ?? 0) + 1
  }
}

/** The plain counters of GatewayStats, by name. */
export type CounterName = {
  [K in keyof GatewayStats]: GatewayStats[K] extends number ? K : never
}[keyof GatewayStats]

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

export function reasonLabel (reason: string | undefined): string {
  if (reason === undefined || reason === '') return 'error'
  return reason.replace(/^GW_ERR_/, '').toLowerCase().replace(/[^a-z0-9]+/g, '_')
}
