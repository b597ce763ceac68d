// Inbound limits of one WAMP publisher (a backend session): a rate (a token bucket, one second's
// worth of burst, as POST /publish has per key) and a bound on publishes the broker has not taken
// yet. Over either, the session stops reading its socket until it is back under: nothing is
// dropped, the publisher's TCP window fills and its writes wait (Oro's PHP client never reads, so
// it could not be told anything else).
//
// The rate holds per message: frames of a TCP read that are over it wait here (held, in order)
// and are published as tokens come back, while reading is paused; they are not published at once
// on credit (issue 18: a backend published ~4x its limit in its first second that way). What is
// held is at most one TCP read's frames. A session that closes with frames held still has them
// published, at the rate (Oro's PHP backend publishes and exits at once).
//
// Room: a publication the broker refuses because this node's fan-out queue is full
// (ORO_WEBSOCKET_HUB_QUEUE_BYTES; two mass edits in one turn), not because it is down, is held
// with every later one of the session, in order, reading paused, and offered again when the queue
// shrank (the hub's whenRoom signal, no timer). Reading pauses at the first refusal, so what is
// held is that publication and the rest of the TCP read it came in (as for the rate); what waited
// ROOM_WAIT_MS without room is dropped (told to its `dropped`, which logs it at error). A session
// that closes with publications held still has them offered.
import { Fifo } from '../fifo.js'
import { TokenBucket } from '../token-bucket.js'

export const PAUSE_RATE = 1
export const PAUSE_PENDING = 2
export const PAUSE_ROOM = 4

/** Longest a publication waits for room in the hub's queue before it is dropped (the queue drains in milliseconds unless the node is stuck). */
export const ROOM_WAIT_MS = 30_000

/** A publication waiting for room: `attempt` offers it (false: refused for room, nothing taken). */
interface RoomHeld {
  attempt: (waited: boolean) => boolean
  dropped: (why: string) => void
}

export interface PublishFlowOptions {
  /** Publishes per second; 0 = no limit. */
  ratePerSecond: number
  /** Publishes in flight (not yet taken by the broker) before reading pauses. */
  maxPending: number
  /** Stop reading the socket. */
  pause: () => void
  /** Read again. */
  resume: () => void
  /** Told when reading pauses, with why (PAUSE_RATE, PAUSE_PENDING or PAUSE_ROOM). */
  paused?: (reason: number) => void
  /** Calls `room` once when the hub's queue next shrank (Hub.whenRoom); without it nothing waits for room. */
  waitRoom?: (room: () => void) => void
  /** Longest wait for room before what is held is dropped (ROOM_WAIT_MS). */
  roomWaitMs?: number
  now?: () => number
}

export class PublishFlow {
  readonly #options: PublishFlowOptions
  readonly #now: () => number
  /** The rate: one second's worth of burst (absent without a rate). */
  readonly #bucket: TokenBucket | null
  #pending = 0
  #pausedFor = 0
  #timer: NodeJS.Timeout | null = null
  #checkScheduled = false
  /** Publishes over the rate, waiting for tokens (in order). */
  readonly #held = new Fifo<() => void>()
  /** Publications refused for room and those after them (in order), waiting for the hub's queue. */
  readonly #roomHeld = new Fifo<RoomHeld>()
  #roomTimer: NodeJS.Timeout | null = null
  #roomWaiting = false

  constructor (options: PublishFlowOptions) {
    this.#options = options
    this.#now = options.now ?? (() => performance.now())
    const rate = options.ratePerSecond
    this.#bucket = rate > 0 ? new TokenBucket(rate, rate / 1000, this.#now()) : null
  }

  get pending (): number { return this.#pending }
  /** PAUSE_* bits of what holds reading now; 0 while reading. */
  get pausedFor (): number { return this.#pausedFor }

  /** Publishes over the rate waiting for tokens. */
  get held (): number { return this.#held.length }

  /**
   * Runs `publish` now when the rate allows (and nothing is held before it), else once it does,
   * in order; reading stays paused while anything is held.
   */
  submit (publish: () => void): void {
    const bucket = this.#bucket
    if (bucket === null) {
      publish()
      return
    }
    if (this.held === 0 && bucket.tryTake(this.#now())) {
      publish()
      return
    }
    this.#held.push(publish)
    this.#pause(PAUSE_RATE)
    this.#schedule(bucket)
  }

  /** Publications waiting for room in the hub's queue. */
  get heldForRoom (): number { return this.#roomHeld.length }

  /**
   * Offers a publication to the broker: `attempt` hands it over and returns false when it was
   * refused because the hub's queue is full (nothing taken). Then it, and every later offer, wait
   * in order, reading paused, until the queue has room; `dropped` is told of those that waited
   * ROOM_WAIT_MS without room.
   */
  offer (attempt: (waited: boolean) => boolean, dropped: (why: string) => void): void {
    const held = this.#roomHeld
    if (held.length === 0) {
      if (attempt(false)) return
      if (this.#options.waitRoom === undefined) {
        dropped('the hub\'s queue is full')
        return
      }
      held.push({ attempt, dropped })
      this.#pause(PAUSE_ROOM)
      this.#armRoomTimer()
      this.#waitRoom()
      return
    }
    // Behind others waiting (in order). Reading is paused, so what joins them is the rest of the
    // TCP read already taken in: bounded by that read, and kept (dropping it would be a loss).
    held.push({ attempt, dropped })
  }

  #waitRoom (): void {
    if (this.#roomWaiting) return
    this.#roomWaiting = true
    ;(this.#options.waitRoom as (room: () => void) => void)(this.#room)
  }

  #armRoomTimer (): void {
    if (this.#roomTimer !== null) clearTimeout(this.#roomTimer)
    this.#roomTimer = setTimeout(this.#roomTimeout, this.#options.roomWaitMs ?? ROOM_WAIT_MS)
    this.#roomTimer.unref()
  }

  // The hub's queue shrank: offer what is held, in order, until one is refused again.
  readonly #room = (): void => {
    this.#roomWaiting = false
    const held = this.#roomHeld
    let progressed = false
    while (held.length > 0) {
      const head = held.at(0) as RoomHeld
      if (!head.attempt(true)) {
        if (progressed) this.#armRoomTimer()
        this.#waitRoom()
        return
      }
      held.shift()
      progressed = true
    }
    if (this.#roomTimer !== null) {
      clearTimeout(this.#roomTimer)
      this.#roomTimer = null
    }
    this.#release(PAUSE_ROOM)
  }

  // No room for ROOM_WAIT_MS: what is held is dropped (each told), reading resumes.
  readonly #roomTimeout = (): void => {
    this.#roomTimer = null
    const held = this.#roomHeld
    const waitedMs = this.#options.roomWaitMs ?? ROOM_WAIT_MS
    while (held.length > 0) (held.shift() as RoomHeld).dropped(`no room in the hub's queue for ${waitedMs} ms`)
    this.#release(PAUSE_ROOM)
  }

  /** A timer for when the next token is back. */
  #schedule (bucket: TokenBucket): void {
    if (this.#timer !== null) return
    const waitMs = Math.max(1, Math.ceil(bucket.msUntilOne()))
    this.#timer = setTimeout(this.#releaseHeld, waitMs)
    this.#timer.unref()
  }

  readonly #releaseHeld = (): void => {
    this.#timer = null
    const bucket = this.#bucket as TokenBucket
    const now = this.#now()
    while (this.held > 0 && bucket.tryTake(now)) (this.#held.shift() as () => void)()
    if (this.held > 0) {
      this.#schedule(bucket)
      return
    }
    this.#release(PAUSE_RATE)
  }

  /** A publish was handed to the broker. */
  started (): void {
    this.#pending++
    // Checked after this turn: a broker that takes publications at once settles them within the
    // turn (a burst of frames from one TCP read must not pause reading); one that has not by then
    // really owes them.
    if (this.#pending >= this.#options.maxPending && !this.#checkScheduled) {
      this.#checkScheduled = true
      setImmediate(this.#checkPending)
    }
  }

  readonly #checkPending = (): void => {
    this.#checkScheduled = false
    if (this.#pending >= this.#options.maxPending) this.#pause(PAUSE_PENDING)
  }

  /** The broker took (or refused) a publish. */
  settled (): void {
    this.#pending--
    // Read again at half the bound, not at bound - 1: one pause per many publishes, not per one.
    if ((this.#pausedFor & PAUSE_PENDING) !== 0 && this.#pending <= this.#options.maxPending / 2) this.#release(PAUSE_PENDING)
  }

  /** The session ended: publishes still held go on at the rate (their timer does not hold the process). */
  stop (): void {
    if (this.held === 0 && this.#timer !== null) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
  }

  #pause (reason: number): void {
    if ((this.#pausedFor & reason) !== 0) return
    const wasReading = this.#pausedFor === 0
    this.#pausedFor |= reason
    if (wasReading) this.#options.pause()
    this.#options.paused?.(reason)
  }

  #release (reason: number): void {
    if ((this.#pausedFor & reason) === 0) return
    this.#pausedFor &= ~reason
    if (this.#pausedFor === 0) this.#options.resume()
  }
}
