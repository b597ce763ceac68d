// What the gateway counts, as plain numbers: incrementing one on a hot path is a property write.
// prom-client reads them when /metrics is scraped (src/metrics/registry.ts). The two histograms
// are observed where the event happens, once per publication or upgrade (never per delivery).
// Nothing here loads prom-client: it is loaded at the first scrape (src/metrics/prom-registry.ts).
import { FastHistogram, LabelledFastHistogram } from './metrics/fast-histogram.js'

export const counters = {
  connectionsOpened: 0,
  connectionsClosed: 0,
  protocolErrors: 0,
  oversizeFrames: 0,
  slowConsumerDrops: 0,
  deadPeerDrops: 0,
  /** Sessions dropped for sending pings faster than they read the pongs. */
  pingFloodDrops: 0,
  /** Sessions dropped because the gateway began to drain (counted when the drain starts). */
  shutdownDrops: 0,
  subscribesRefused: 0,
  publishesRefused: 0,
  publishesReceived: 0,
  publishesDropped: 0,
  publishesUnconfirmed: 0,
  /** WAMP publications the broker took (the success side of publishesDropped/Unconfirmed). */
  wampPublishesOk: 0,
  eventsDelivered: 0,
  upgradesRejected: 0,
  sessionFaults: 0,
  publishPauses: 0,
  fanoutYields: 0,
  /** Publications from Redis not delivered: the hub's queue was over ORO_WEBSOCKET_HUB_QUEUE_BYTES. */
  publicationsShed: 0,
  /** Log lines not written: stdout failed (a full disk) or fell over 16 MiB behind (src/log-destination.ts). */
  logLinesDropped: 0
}

export type CounterName = keyof typeof counters

/** A counter per label value (a reason, an outcome): few values, each a property on one object. */
export type Tally = Record<string, number>

function tally (): Tally { return Object.create(null) as Tally }

/** Upgrades refused before the handshake, by reason (see upgradeRefused). */
export const upgradeRefusals = tally()
/** POST /publish requests by outcome (ok, refused, unauthorized, rate_limited, unavailable, unknown, error). */
export const httpPublishOutcomes = tally()

/**
 * Counts an upgrade refused before the handshake. `reason` is a short snake_case word
 * ('origin', 'shutdown', 'auth_busy', ...) or an error code (GW_ERR_TICKET_EXPIRED becomes
 * 'ticket_expired'): the values are the gateway's own, so the label stays small.
 */
export function upgradeRefused (reason: string | undefined): void {
  counters.upgradesRejected++
  const label = reasonLabel(reason)
  upgradeRefusals[label] = (upgradeRefusals[label] ?? 0) + 1
}

export function reasonLabel (reason: string | undefined): string {
  if (reason === undefined || reason === '') return 'error'
  return reason.replace(/^GW_ERR_/, '').toLowerCase().replace(/[^a-z0-9]+/g, '_')
}

/**
 * Buckets from 100 µs to 10 s: a delivery is sub-millisecond unless a fan-out yields or Redis is
 * slow. Observed once per publication that reached a local subscriber (cheap: see FastHistogram).
 * Exposed as oro_ws_publish_to_write_seconds (src/metrics/prom-registry.ts).
 */
export const PUBLISH_TO_WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
export const publishToWrite = new FastHistogram(PUBLISH_TO_WRITE_BUCKETS)

/**
 * Buckets from 1 ms (origin refused, anonymous) to 10 s (a queue of ticket verifications).
 * Exposed as oro_ws_upgrade_auth_seconds, by outcome (src/metrics/prom-registry.ts).
 */
export const UPGRADE_AUTH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
export const upgradeAuthDuration = new LabelledFastHistogram('outcome', UPGRADE_AUTH_BUCKETS)
