// Keep-alive, with one timer for all sessions (not one per session):
// - a WebSocket ping to every session once per interval, spread over the interval: each tick
//   (PING_SLICES ticks per interval) pings the next slice of the sessions, so 50,000 sessions
//   are never written to in one turn of the event loop.
// - a session that leaves two pings in a row unanswered is dropped (a dead browser, a frozen peer,
//   half-open TCP), whether it answered pings before or not. Except a backend session (one that
//   may publish) that never answered any: Oro's PHP backend never reads and never answers pings
//   (oro-compat §3, §6) and must not be dropped for it; one that answered before is dropped too.
// - "Connection keep alive" on oro/ping while it has local subscribers, as Oro's server did.
import { PING_FRAME } from './frame.js'
import { PING_TOPIC, type WampSession } from './session.js'
import type { Hub } from '../broker/hub.js'
import type { GatewayStats } from '../stats.js'

export const KEEPALIVE_PAYLOAD = '"Connection keep alive"'

/** Ticks per ping interval: each pings about 1/PING_SLICES of the sessions. */
export const PING_SLICES = 30

export interface KeepAliveOptions {
  pingIntervalMs: number
  keepaliveIntervalMs: number
  log: { info (obj: object, msg: string): void }
  /** The app's figures (dead peers dropped). */
  stats: GatewayStats
}

export class KeepAlive {
  readonly #sessions: Iterable<WampSession>
  readonly #hub: Hub
  readonly #options: KeepAliveOptions
  readonly #timers: NodeJS.Timeout[] = []
  /** Where the current round of pings is in the sessions (a live Set iterator), or null between rounds. */
  #round: Iterator<WampSession> | null = null
  /** Sessions counted when the round began: each tick pings its share of them. */
  #roundSize = 0
  /** Ticks of the current round so far. */
  #tick = 0

  constructor (sessions: Iterable<WampSession>, hub: Hub, options: KeepAliveOptions) {
    this.#sessions = sessions
    this.#hub = hub
    this.#options = options
  }

  start (): void {
    const { pingIntervalMs, keepaliveIntervalMs } = this.#options
    if (pingIntervalMs > 0) this.#timers.push(setInterval(() => { this.pingSlice() }, pingIntervalMs / PING_SLICES).unref())
    if (keepaliveIntervalMs > 0) this.#timers.push(setInterval(() => this.publishKeepAlive(), keepaliveIntervalMs).unref())
  }

  stop (): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers.length = 0
  }

  /**
   * One tick: pings the next slice of the sessions. A round lasts PING_SLICES ticks (one interval)
   * however many sessions there are; its last tick pings whoever is left (those that joined).
   */
  pingSlice (): void {
    if (this.#round === null) {
      this.#round = this.#sessions[Symbol.iterator]()
      this.#roundSize = (this.#sessions as { size?: number }).size ?? 0
      this.#tick = 0
    }
    const last = ++this.#tick >= PING_SLICES
    // Sessions that joined during the round are visited by the live iterator too.
    const slice = last ? Infinity : Math.ceil(this.#roundSize / PING_SLICES)
    for (let i = 0; i < slice; i++) {
      const next = this.#round.next()
      if (next.done === true) break
      this.#ping(next.value)
    }
    if (last) this.#round = null
  }

  #ping (session: WampSession): void {
    if (!session.alive) return
    if (session.missedPings >= 2 && (session.pongs > 0 || !session.canPublish)) {
      this.#options.stats.deadPeerDrops++
      this.#options.log.info({ sessionId: session.id, user: session.user, answeredBefore: session.pongs > 0 }, 'session dropped: two pings unanswered')
      session.drop()
      return
    }
    session.missedPings++
    session.write(PING_FRAME)
  }

  /** Call when a session answers a ping. */
  static pong (session: WampSession): void {
    session.pongs++
    session.missedPings = 0
  }

  publishKeepAlive (): void {
    this.#hub.broadcast({ topic: PING_TOPIC, payload: KEEPALIVE_PAYLOAD })
  }
}
