// Keep-alive, with one timer for all sessions (not one per session):
// - a WebSocket ping every interval; a session that has answered a ping before and then leaves
//   two in a row unanswered is dropped (dead browser, half-open TCP). Sessions that never answer
//   (Oro's PHP backend never reads) are never dropped for it.
// - "Connection keep alive" on oro/ping while it has local subscribers, as Oro's server did.
import { PING_FRAME } from './frame.js'
import { PING_TOPIC, type WampSession } from './session.js'
import type { Hub } from '../broker/hub.js'
import { counters } from '../metrics.js'

export const KEEPALIVE_PAYLOAD = '"Connection keep alive"'

export interface KeepAliveOptions {
  pingIntervalMs: number
  keepaliveIntervalMs: number
  log: { info (obj: object, msg: string): void }
}

export class KeepAlive {
  readonly #sessions: Iterable<WampSession>
  readonly #hub: Hub
  readonly #options: KeepAliveOptions
  readonly #timers: NodeJS.Timeout[] = []

  constructor (sessions: Iterable<WampSession>, hub: Hub, options: KeepAliveOptions) {
    this.#sessions = sessions
    this.#hub = hub
    this.#options = options
  }

  start (): void {
    const { pingIntervalMs, keepaliveIntervalMs } = this.#options
    if (pingIntervalMs > 0) this.#timers.push(setInterval(() => this.pingAll(), pingIntervalMs).unref())
    if (keepaliveIntervalMs > 0) this.#timers.push(setInterval(() => this.publishKeepAlive(), keepaliveIntervalMs).unref())
  }

  stop (): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers.length = 0
  }

  pingAll (): void {
    for (const session of this.#sessions) {
      if (!session.alive) continue
      if (session.pongs > 0 && session.missedPings >= 2) {
        counters.deadPeerDrops++
        this.#options.log.info({ sessionId: session.id, user: session.user }, 'session dropped: two pings unanswered')
        session.drop()
        continue
      }
      session.missedPings++
      session.write(PING_FRAME)
    }
  }

  /** Call when a session answers a ping. */
  static pong (session: WampSession): void {
    session.pongs++
    session.missedPings = 0
  }

  publishKeepAlive (): number {
    if (this.#hub.subscriberCount(PING_TOPIC) === 0) return 0
    return this.#hub.broadcast({ topic: PING_TOPIC, payload: KEEPALIVE_PAYLOAD })
  }
}
