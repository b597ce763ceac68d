// Fair admission to ticket verification (docs/auth.md, "Admission"). A ticket costs a 5,000-round
// digest before it can be judged, so upgrades wait their turn here instead of all running at once:
// - Upgrades wait (the HTTP upgrade is held) in queues served round-robin (fair-queue.ts): one
//   queue per client network (an IPv4 /24 or IPv6 /64, address-bucket.ts). An office of 2,000
//   pages behind one address waits its turns; it is never refused for its own crowd. `concurrency`
//   verifications run at once.
// - Only when the expected wait would pass `maxWaitSeconds` (from the measured rate), or the
//   node holds `maxWaiting` upgrades, is an upgrade refused: 503 with Retry-After.
// - Failed tickets (401s) make their sender suspect: the pair (network, user) at its first
//   failure; past more failures the network (half its budget), its /16 or /48 aggregate, the user
//   node-wide, and, for networks never seen to succeed, the node as a whole. A suspect upgrade
//   waits in the suspect lane, one queue per (network, user), which gets one turn in SUSPECT_TURN
//   while clean upgrades wait, an eighth of the slots and of the waiting room. A clean upgrade is
//   judged again when its turn comes (failures may have come in meanwhile). A (network, user)
//   pair past its failure budget is refused (429) before any work. Pairs that succeeded (the
//   office's real users) stay in the clean lane, so a flood of forged tickets from their own
//   address slows them at most.
// - Pages back with a resume cookie from a clean network are served first (a user lookup and an
//   HMAC, no digest: a restart's crowd is back in seconds), then the rechecks of the sessions
//   they resumed (resume-recheck.ts: a session waits unverified until its recheck is done).
// Memory is bounded: failure records and proven pairs past maxClients evict the oldest; waiting
// upgrades are bounded by maxWaiting.
import { FairQueue, type Entry } from './fair-queue.js'
import { TokenBucket } from '../token-bucket.js'

export type Lane = 'clean' | 'suspect'

export type Outcome = 'ok' | 'failed' | 'neutral'

export type RefusalReason = 'busy' | 'wait' | 'client-pending' | 'client-failures' | 'suspect-lane' | 'gone' | 'closed'

export interface AdmissionOptions {
  /** Upgrades waiting or being verified at once, all networks together (ORO_WEBSOCKET_AUTH_QUEUE). */
  maxWaiting: number
  /** Longest expected wait before an upgrade is refused, seconds (ORO_WEBSOCKET_AUTH_MAX_WAIT). */
  maxWaitSeconds: number
  /** Suspect upgrades of one (network, user) waiting at once (ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT). */
  maxPendingPerSuspect: number
  /** Failed tickets per minute a user from one network may send (ORO_WEBSOCKET_AUTH_FAILURES); the other records scale from it. */
  failuresPerMinute: number
  /** Verifications running at once. Default 8. */
  concurrency?: number
  /** Verifications per second assumed before any has been measured. Default 200. */
  initialRate?: number
  /** Failure records (and as many proven pairs) remembered. Default 50,000. */
  maxClients?: number
  /** Clock in ms. Default Date.now. */
  now?: () => number
}

export interface AdmissionRequest {
  /** The client network (addressBucket). */
  network: string
  /** Its aggregate, /16 or /48 (addressAggregate); none: no aggregate record. */
  aggregate?: string
  /** The ticket's username ('' anonymous); undefined when the ticket cannot be read. */
  username?: string | undefined
  /** Direct from a backend network: always the clean lane (the failure budget still applies). */
  trusted?: boolean
  /** A recheck of a resumed session: served before any fresh ticket. */
  recheck?: boolean
  /**
   * A page presenting a resume cookie: a user lookup and an HMAC, no digest. Served first (from
   * a clean network), before the rechecks that take the digests' time; it releases its turn at
   * once, and one whose cookie fails enters again as a fresh ticket.
   */
  resume?: boolean
  /** False once the client is gone: its turn is skipped. */
  alive?: () => boolean
  /**
   * Called when the request must wait: registers `listener` for the client leaving (its place is
   * given up at once, the result 'gone'); returns what stops watching (called when its turn comes).
   */
  watchGone?: (listener: () => void) => () => void
}

export interface Admitted {
  admitted: true
  lane: Lane
  /** Ends this verification; call exactly once (more calls are ignored). */
  release: (outcome: Outcome) => void
}

export interface Refused {
  admitted: false
  reason: RefusalReason
  /** Whole seconds after which a retry can succeed. */
  retryAfterSeconds: number
}

export interface AdmissionStats {
  /** Upgrades being verified. */
  running: number
  /** Upgrades waiting for their turn, all lanes. */
  waiting: number
  suspectWaiting: number
  /** Verifications per second, as last measured. */
  rate: number
  /** Records of failures remembered (pairs, networks, aggregates, users). */
  failingClients: number
  refused: Record<RefusalReason, number>
}

/** The suspect lane gets one turn in SUSPECT_TURN while clean upgrades wait. */
export const SUSPECT_TURN = 8
/** Suspect upgrades together may fill at most this share of maxWaiting, and run at most this share of `concurrency` (at least one). */
const SUSPECT_SHARE = 8
/** A success keeps its (network, user) pair and network trusted this long. */
const PROVEN_MS = 24 * 3600_000
/** Rate measurement window while verifications are queued. */
const RATE_WINDOW_MS = 500
// The best rate the node showed stands for its capacity this long: a dip while it warms up (digest
// workers starting after a restart or an idle spell) is not what it can do. Measured: 10,000 office
// pages after a restart, caught up in 27 s, and still 249 refused for an expected wait over 60 s.
const PEAK_MS = 60_000

interface Waiter {
  request: AdmissionRequest
  lane: Lane
  resolve: (result: Admitted | Refused) => void
  /** Stops watching for the client leaving, while it waits. */
  unwatch?: (() => void) | undefined
}

function stopWatching (waiter: Waiter): void {
  const unwatch = waiter.unwatch
  waiter.unwatch = undefined
  unwatch?.()
}

function refusal (reason: RefusalReason, retryAfterSeconds: number): Refused {
  return { admitted: false, reason, retryAfterSeconds }
}

export class Admission {
  readonly #maxWaiting: number
  readonly #maxWaitMs: number
  readonly #maxPerSuspect: number
  readonly #budget: number
  readonly #refillPerMs: number
  readonly #concurrency: number
  readonly #maxClients: number
  readonly #maxSuspect: number
  readonly #now: () => number
  readonly #failures = new Map<string, TokenBucket>()
  // 'p:network|user' and 'n:network' that succeeded, with when.
  readonly #proven = new Map<string, number>()
  readonly #resumes = new FairQueue<Waiter>()
  readonly #rechecks = new FairQueue<Waiter>()
  readonly #clean = new FairQueue<Waiter>()
  readonly #suspect = new FairQueue<Waiter>()
  #running = 0
  #suspectRunning = 0
  readonly #maxSuspectRunning: number
  #turn = 0
  #rate: number
  // The best rate of the last PEAK_MS (from the rate known when the upgrades began to wait).
  #peak = 0
  #peakAt = 0
  // The measuring window: open (a start time) only while upgrades wait.
  #windowStart: number | null = null
  #windowDone = 0
  readonly #refused: Record<RefusalReason, number> = { busy: 0, wait: 0, 'client-pending': 0, 'client-failures': 0, 'suspect-lane': 0, gone: 0, closed: 0 }
  #closed = false

  constructor (options: AdmissionOptions) {
    this.#maxWaiting = options.maxWaiting
    this.#maxWaitMs = options.maxWaitSeconds * 1000
    this.#maxPerSuspect = options.maxPendingPerSuspect
    this.#budget = options.failuresPerMinute
    this.#refillPerMs = options.failuresPerMinute / 60_000
    this.#concurrency = Math.max(1, options.concurrency ?? 8)
    this.#rate = options.initialRate ?? 200
    this.#maxClients = options.maxClients ?? 50_000
    this.#maxSuspect = Math.max(1, Math.floor(options.maxWaiting / SUSPECT_SHARE))
    this.#maxSuspectRunning = Math.max(1, Math.floor(this.#concurrency / SUSPECT_SHARE))
    this.#now = options.now ?? Date.now
  }

  get stats (): AdmissionStats {
    return {
      running: this.#running,
      waiting: this.#waiting,
      suspectWaiting: this.#suspect.size,
      rate: Math.round(this.#rate),
      failingClients: this.#failures.size,
      refused: { ...this.#refused }
    }
  }

  get #waiting (): number { return this.#resumes.size + this.#rechecks.size + this.#clean.size + this.#suspect.size }

  /**
   * Admits one verification now, later (the promise resolves when its turn comes), or refuses it
   * with the reason. Never rejects.
   */
  async enter (request: AdmissionRequest): Promise<Admitted | Refused> {
    if (this.#closed) return this.#refuse('closed', 2)
    return await new Promise<Admitted | Refused>((resolve) => { this.#place(request, resolve, true) })
  }

  /** The node drains: every waiting upgrade and every later one is refused ('closed'). */
  close (): void {
    this.#closed = true
    for (const queue of [this.#resumes, this.#rechecks, this.#clean, this.#suspect]) {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        stopWatching(entry.value)
        entry.value.resolve(this.#refuse('closed', 2))
      }
    }
  }

  // Admits, refuses or queues a request: when it arrives (fresh) and again when a clean one's turn
  // comes, since failures of its network or user may have come in while it waited (a flood's first
  // burst queues as clean before any of it has failed).
  #place (request: AdmissionRequest, resolve: (result: Admitted | Refused) => void, fresh: boolean): void {
    const user = request.username ?? ''
    const pair = `${request.network}|${user}`
    // The failure budget of (network, user): past it, refused before any work.
    const pairTokens = this.#tokens(`p:${pair}`)
    if (pairTokens < 1) {
      resolve(this.#refuse('client-failures', Math.max(1, Math.ceil((1 - pairTokens) / this.#refillPerMs / 1000))))
      return
    }
    if (fresh && this.#running + this.#waiting >= this.#maxWaiting) {
      resolve(this.#refuse('busy', 2))
      return
    }
    const lane: Lane = request.recheck === true || request.trusted === true ? 'clean' : this.#classify(request, pair, pairTokens)
    const resume = request.resume === true && lane === 'clean'
    const queue = request.recheck === true ? this.#rechecks : resume ? this.#resumes : lane === 'clean' ? this.#clean : this.#suspect
    const flow = lane === 'clean' ? request.network : pair
    if (lane === 'suspect') {
      // Over its network's budget, a pair may wait one at a time.
      const perFlow = this.#tokens(`n:${request.network}`) < 1 ? 1 : this.#maxPerSuspect
      if (queue.flowSize(flow) >= perFlow) { resolve(this.#refuse('client-pending', 1)); return }
      if (queue.size >= this.#maxSuspect) { resolve(this.#refuse('suspect-lane', 2)); return }
    }
    if (this.#running < this.#concurrency && this.#waiting === 0 && (lane === 'clean' || this.#suspectRunning < this.#maxSuspectRunning)) {
      resolve(this.#admit(request, lane))
      return
    }
    // A resume costs no digest: the bound on the expected wait is for the digests' queue.
    const wait = resume ? 0 : this.#expectedWaitMs(queue, flow, lane, request.recheck === true)
    if (wait > this.#maxWaitMs) {
      resolve(this.#refuse('wait', Math.max(2, Math.ceil(wait / 1000 / 2))))
      return
    }
    const waiter: Waiter = { request, lane, resolve }
    const entry = queue.push(flow, waiter)
    // A client that leaves gives its place up at once: it must not hold the waiting room (or its
    // flow's pending count) until its turn comes.
    if (request.watchGone !== undefined) {
      waiter.unwatch = request.watchGone(() => {
        waiter.unwatch = undefined
        if (!queue.cancel(entry)) return
        this.#refused.gone++
        resolve(refusal('gone', 1))
      })
    }
    if (fresh) this.#dispatch()
  }

  /** True when a clean waiter whose turn came must be judged again (its pair or lane changed). */
  #changed (waiter: Waiter): boolean {
    const request = waiter.request
    if (waiter.lane !== 'clean' || request.recheck === true || request.trusted === true) return false
    const pair = `${request.network}|${request.username ?? ''}`
    const pairTokens = this.#tokens(`p:${pair}`)
    return pairTokens < 1 || this.#classify(request, pair, pairTokens) === 'suspect'
  }

  /** The wait this item would see: the items served before it, at the rate measured. */
  #expectedWaitMs (queue: FairQueue<Waiter>, flow: string, lane: Lane, recheck: boolean): number {
    // Round robin: before the n-th item of a flow go at most n items of every other flow.
    const position = queue.flowSize(flow) + 1
    let ahead = Math.min(queue.size, position * Math.max(1, queue.flows)) + this.#running
    if (!recheck) ahead += this.#rechecks.size
    // Each lane's share of the turns while the other waits.
    let share = 1
    if (lane === 'clean' && !recheck && this.#suspect.size > 0) share = (SUSPECT_TURN - 1) / SUSPECT_TURN
    if (lane === 'suspect') share = Math.min(this.#clean.size > 0 || this.#rechecks.size > 0 ? 1 / SUSPECT_TURN : 1, this.#maxSuspectRunning / this.#concurrency)
    const rate = this.#now() - this.#peakAt <= PEAK_MS ? Math.max(this.#rate, this.#peak) : this.#rate
    return ahead / (rate * share) * 1000
  }

  // Suspect when the pair, its network, its aggregate or its user failed recently, or when
  // networks never seen to succeed are failing node-wide; a pair that succeeded is trusted
  // unless it failed itself since.
  #classify (request: AdmissionRequest, pair: string, pairTokens: number): Lane {
    if (pairTokens < this.#budget) return 'suspect'
    if (this.#isProven(`p:${pair}`)) return 'clean'
    // A network turns suspect for its users that never succeeded only past half its budget: an
    // office's stray expired ticket must not put 2,000 pages in the slow lane.
    if (this.#tokens(`n:${request.network}`) <= this.#budget / 2) return 'suspect'
    const provenNetwork = this.#isProven(`n:${request.network}`)
    if (!provenNetwork && request.aggregate !== undefined && this.#tokens(`a:${request.aggregate}`) < this.#budget) return 'suspect'
    if (this.#tokens(`u:${request.username ?? ''}`) < this.#budget) return 'suspect'
    if (!provenNetwork && this.#tokens('node:unproven') < this.#budget * 2) return 'suspect'
    return 'clean'
  }

  #admit (request: AdmissionRequest, lane: Lane): Admitted {
    this.#running++
    if (lane === 'suspect') this.#suspectRunning++
    let released = false
    return {
      admitted: true,
      lane,
      release: (outcome) => {
        if (released) return
        released = true
        this.#running--
        if (lane === 'suspect') this.#suspectRunning--
        // The verification rate is the digests': a resume's quick turn would inflate it.
        if (request.resume !== true) this.#measure()
        if (outcome === 'ok') this.#succeed(request)
        else if (outcome === 'failed') this.#fail(request)
        this.#dispatch()
      }
    }
  }

  // Hands free slots to waiting upgrades: resumes first, then rechecks, then the lanes, the suspect one every
  // SUSPECT_TURN-th turn while clean upgrades wait, and never more than its share of the slots
  // (so a flood cannot keep every core busy even when nobody else waits).
  #dispatch (): void {
    while (this.#running < this.#concurrency) {
      const entry = this.#next()
      if (entry === undefined) return
      const waiter = entry.value
      stopWatching(waiter)
      if (waiter.request.alive !== undefined && !waiter.request.alive()) {
        this.#refused.gone++
        waiter.resolve(refusal('gone', 1))
        continue
      }
      if (this.#changed(waiter)) {
        this.#place(waiter.request, waiter.resolve, false)
        continue
      }
      waiter.resolve(this.#admit(waiter.request, waiter.lane))
    }
  }

  #next (): Entry<Waiter> | undefined {
    const resume = this.#resumes.shift()
    if (resume !== undefined) return resume
    const recheck = this.#rechecks.shift()
    if (recheck !== undefined) return recheck
    const suspectMay = this.#suspect.size > 0 && this.#suspectRunning < this.#maxSuspectRunning
    if (suspectMay && (this.#clean.size === 0 || ++this.#turn % SUSPECT_TURN === 0)) return this.#suspect.shift()
    return this.#clean.shift()
  }

  // Completions per second while clean upgrades wait (the node's real verification rate).
  #measure (): void {
    if (this.#clean.size + this.#rechecks.size === 0) {
      // No clean upgrade waits: the rate the node could reach is not being measured (an idle hour
      // must not read as a slow node when the next storm begins, nor a flood held to the suspect
      // lane's few slots).
      this.#windowStart = null
      return
    }
    const now = this.#now()
    if (this.#windowStart === null) {
      this.#windowStart = now
      this.#windowDone = 0
      this.#peak = this.#rate
      this.#peakAt = now
      return
    }
    this.#windowDone++
    const elapsed = now - this.#windowStart
    if (elapsed >= RATE_WINDOW_MS) {
      const sample = this.#windowDone / elapsed * 1000
      this.#rate = this.#rate * 0.5 + sample * 0.5
      if (this.#rate >= this.#peak || now - this.#peakAt > PEAK_MS) {
        this.#peak = this.#rate
        this.#peakAt = now
      }
      this.#windowStart = now
      this.#windowDone = 0
    }
  }

  #refuse (reason: RefusalReason, retryAfterSeconds: number): Refused {
    this.#refused[reason]++
    return refusal(reason, retryAfterSeconds)
  }

  #isProven (key: string): boolean {
    const at = this.#proven.get(key)
    if (at === undefined) return false
    if (this.#now() - at > PROVEN_MS) {
      this.#proven.delete(key)
      return false
    }
    return true
  }

  #succeed (request: AdmissionRequest): void {
    const now = this.#now()
    for (const key of [`p:${request.network}|${request.username ?? ''}`, `n:${request.network}`]) {
      this.#proven.delete(key)
      this.#bounded(this.#proven)
      this.#proven.set(key, now)
    }
  }

  #fail (request: AdmissionRequest): void {
    const pair = `p:${request.network}|${request.username ?? ''}`
    this.#proven.delete(pair)
    const user = `u:${request.username ?? ''}`
    const keys = [pair, `n:${request.network}`, user]
    if (request.aggregate !== undefined) keys.push(`a:${request.aggregate}`)
    // Failures of networks never seen to succeed count node-wide, unless their user is failing
    // already (a flood of one user's or anonymous tickets is caught by that user's record, and
    // must not make every new network suspect).
    if (!this.#isProven(`n:${request.network}`) && this.#tokens(user) >= this.#budget) keys.push('node:unproven')
    for (const key of keys) {
      // Never below -budget: a burst of failures costs at most two minutes of waiting.
      const tokens = Math.max(-this.#budget, this.#tokens(key) - 1)
      this.#failures.delete(key)
      this.#bounded(this.#failures)
      // Re-inserted last: the Map's first entry is the record that failed longest ago.
      this.#failures.set(key, new TokenBucket(this.#capacity(key), this.#refillPerMs, this.#now(), tokens))
    }
  }

  #bounded (map: Map<string, unknown>): void {
    while (map.size >= this.#maxClients) {
      const oldest = map.keys().next()
      if (oldest.done === true) break
      map.delete(oldest.value)
    }
  }

  // Tokens left in a failure bucket, refilled up to now; a full bucket is forgotten. Aggregates and
  // users have twice the budget of a network and count as failing past one budget; the node has
  // four times and is failing past two (they sum many networks' failures).
  #tokens (key: string): number {
    const bucket = this.#failures.get(key)
    if (bucket === undefined) return this.#capacity(key)
    const tokens = bucket.level(this.#now())
    if (tokens >= bucket.capacity) this.#failures.delete(key)
    return tokens
  }

  #capacity (key: string): number {
    if (key.startsWith('p:') || key.startsWith('n:')) return this.#budget
    return key === 'node:unproven' ? this.#budget * 4 : this.#budget * 2
  }
}
