// Fair admission to ticket verification. A forged but well-formed ticket costs a 5,000-round
// digest (and for a user ticket a database lookup) before it can be refused, so a single client
// sending bad tickets could fill the queue and lock everybody else out. Three rules keep room for
// the others:
// - each client (an IPv4 /24 or IPv6 /64, see address-bucket.ts) may have only a few
//   verifications pending at once;
// - each client may fail only so many verifications a minute (a token bucket); past it, its
//   upgrades are refused before any work until the bucket refills;
// - a client that failed recently is "suspect": its digests wait in a lane of their own that gets
//   a small share of the digest workers while clients that have not failed are waiting.
// Memory is bounded: pending counts live only while a verification runs (at most maxPending of
// them), and failure records past maxClients evict the oldest.

export type Lane = 'clean' | 'suspect'

export type Outcome = 'ok' | 'failed' | 'neutral'

export type RefusalReason = 'busy' | 'client-pending' | 'client-failures' | 'suspect-lane'

export interface AdmissionOptions {
  /** Verifications pending at once, all clients together (ORO_WEBSOCKET_AUTH_QUEUE). */
  maxPending: number
  /** Verifications pending at once per client (ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT). */
  maxPendingPerClient: number
  /** Failed verifications a client may have per minute (ORO_WEBSOCKET_AUTH_FAILURES). */
  failuresPerMinute: number
  /** Clients whose failures are remembered. Default 50,000. */
  maxClients?: number
  /** Clock in ms. Default Date.now. */
  now?: () => number
}

export interface Admitted {
  admitted: true
  lane: Lane
  /** Ends this verification; call exactly once. */
  release: (outcome: Outcome) => void
}

export interface Refused {
  admitted: false
  reason: RefusalReason
  /** Whole seconds after which a retry can succeed. */
  retryAfterSeconds: number
}

export interface AdmissionStats {
  pending: number
  suspectPending: number
  /** Clients with failures remembered. */
  failingClients: number
  refused: Record<RefusalReason, number>
}

interface FailureBucket { tokens: number, at: number }

// Suspect clients together may hold at most this share of maxPending.
const SUSPECT_SHARE = 8

export class Admission {
  readonly #maxPending: number
  readonly #maxPerClient: number
  readonly #capacity: number
  readonly #refillPerMs: number
  readonly #maxClients: number
  readonly #maxSuspect: number
  readonly #now: () => number
  readonly #pending = new Map<string, number>()
  readonly #failures = new Map<string, FailureBucket>()
  #total = 0
  #suspect = 0
  readonly #refused: Record<RefusalReason, number> = { busy: 0, 'client-pending': 0, 'client-failures': 0, 'suspect-lane': 0 }

  constructor (options: AdmissionOptions) {
    this.#maxPending = options.maxPending
    this.#maxPerClient = options.maxPendingPerClient
    this.#capacity = options.failuresPerMinute
    this.#refillPerMs = options.failuresPerMinute / 60_000
    this.#maxClients = options.maxClients ?? 50_000
    this.#maxSuspect = Math.max(1, Math.floor(options.maxPending / SUSPECT_SHARE))
    this.#now = options.now ?? Date.now
  }

  get stats (): AdmissionStats {
    return { pending: this.#total, suspectPending: this.#suspect, failingClients: this.#failures.size, refused: { ...this.#refused } }
  }

  /**
   * Admits one verification for `client` (its bucket), or says why not. `trusted` clients (direct
   * connections from a backend network) skip the per-client pending limit; everybody else's
   * limits apply to them too.
   */
  enter (client: string, trusted = false): Admitted | Refused {
    const tokens = this.#tokens(client)
    if (tokens < 1) {
      const wait = Math.ceil((1 - tokens) / this.#refillPerMs / 1000)
      return this.#refuse('client-failures', Math.max(1, wait))
    }
    const lane: Lane = tokens < this.#capacity ? 'suspect' : 'clean'
    if (this.#total >= this.#maxPending) return this.#refuse('busy', 2)
    if (lane === 'suspect' && this.#suspect >= this.#maxSuspect) return this.#refuse('suspect-lane', 2)
    const pending = this.#pending.get(client) ?? 0
    if (!trusted && pending >= this.#maxPerClient) return this.#refuse('client-pending', 1)

    this.#pending.set(client, pending + 1)
    this.#total++
    if (lane === 'suspect') this.#suspect++
    let released = false
    return {
      admitted: true,
      lane,
      release: (outcome) => {
        if (released) return
        released = true
        this.#total--
        if (lane === 'suspect') this.#suspect--
        const left = (this.#pending.get(client) ?? 1) - 1
        if (left <= 0) this.#pending.delete(client)
        else this.#pending.set(client, left)
        if (outcome === 'failed') this.#fail(client)
      }
    }
  }

  #refuse (reason: RefusalReason, retryAfterSeconds: number): Refused {
    this.#refused[reason]++
    return { admitted: false, reason, retryAfterSeconds }
  }

  // Tokens left in the client's failure bucket, refilled up to now; a full bucket is forgotten.
  #tokens (client: string): number {
    const bucket = this.#failures.get(client)
    if (bucket === undefined) return this.#capacity
    const now = this.#now()
    const tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#refillPerMs)
    if (tokens >= this.#capacity) {
      this.#failures.delete(client)
      return this.#capacity
    }
    bucket.tokens = tokens
    bucket.at = now
    return tokens
  }

  #fail (client: string): void {
    // Never below -capacity: a burst of failures costs at most two minutes of waiting.
    const tokens = Math.max(-this.#capacity, this.#tokens(client) - 1)
    this.#failures.delete(client)
    // Re-inserted last: the Map's first entry is the client that failed longest ago.
    while (this.#failures.size >= this.#maxClients) {
      const oldest = this.#failures.keys().next()
      if (oldest.done === true) break
      this.#failures.delete(oldest.value)
    }
    this.#failures.set(client, { tokens, at: this.#now() })
  }
}
