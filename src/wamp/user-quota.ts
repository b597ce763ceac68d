// What one logged-in user may hold on this node, all its sessions together: sessions
// (ORO_WEBSOCKET_MAX_SESSIONS_PER_USER) and subscriptions (ORO_WEBSOCKET_MAX_SUBSCRIPTIONS_PER_USER).
// Per-session limits alone let one ordinary user open 800 sessions × 256 subscriptions. Anonymous
// sessions (the PHP backend, visitors) have no user to count them by; their tickets are bounded
// by ORO_WEBSOCKET_SESSIONS_PER_TICKET. Counts live only while the user holds something.
import type { Identity } from '../auth/identity.js'

export interface UserQuotaLimits {
  maxSessionsPerUser: number
  maxSubscriptionsPerUser: number
}

export class UserQuota {
  readonly #limits: UserQuotaLimits
  readonly #sessions = new Map<number, number>()
  readonly #subscriptions = new Map<number, number>()

  constructor (limits: UserQuotaLimits) {
    this.#limits = limits
  }

  get limits (): UserQuotaLimits { return this.#limits }

  /** Sessions the user holds now (0 for anonymous). */
  sessions (identity: Identity): number {
    return identity.anonymous ? 0 : this.#sessions.get(identity.userId) ?? 0
  }

  /** Whether one more session of this user fits (always for anonymous). */
  maySession (identity: Identity): boolean {
    return identity.anonymous || this.sessions(identity) < this.#limits.maxSessionsPerUser
  }

  /** Counts a session; false (nothing counted) when it does not fit. */
  addSession (identity: Identity): boolean {
    if (identity.anonymous) return true
    if (!this.maySession(identity)) return false
    this.#sessions.set(identity.userId, this.sessions(identity) + 1)
    return true
  }

  removeSession (identity: Identity): void {
    if (!identity.anonymous) decrement(this.#sessions, identity.userId, 1)
  }

  /** Counts a subscription; false (nothing counted) when the user holds its limit. */
  addSubscription (identity: Identity): boolean {
    if (identity.anonymous) return true
    const held = this.#subscriptions.get(identity.userId) ?? 0
    if (held >= this.#limits.maxSubscriptionsPerUser) return false
    this.#subscriptions.set(identity.userId, held + 1)
    return true
  }

  removeSubscriptions (identity: Identity, count: number): void {
    if (!identity.anonymous && count > 0) decrement(this.#subscriptions, identity.userId, count)
  }
}

function decrement (map: Map<number, number>, key: number, by: number): void {
  const left = (map.get(key) ?? 0) - by
  if (left <= 0) map.delete(key)
  else map.set(key, left)
}
