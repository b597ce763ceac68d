// Inbound limits of one WAMP publisher (a backend session): a rate (a token bucket, one second's
// worth of burst, as POST /publish has per key) and a bound on publishes the broker has not taken
// yet. Over either, the session stops reading its socket until it is back under: nothing is
// dropped, the publisher's TCP window fills and its writes wait (Oro's PHP client never reads, so
// it could not be told anything else).

export const PAUSE_RATE = 1
export const PAUSE_PENDING = 2

export interface PublishFlowOptions {
  /** Publishes per second; 0 = no limit. */
  ratePerSecond: number
  /** Publishes in flight (not yet taken by the broker) before reading pauses. */
  maxPending: number
  /** Stop reading the socket. */
  pause: () => void
  /** Read again. */
  resume: () => void
  /** Told when reading pauses, with why (PAUSE_RATE or PAUSE_PENDING). */
  paused?: (reason: number) => void
  now?: () => number
}

export class PublishFlow {
  readonly #options: PublishFlowOptions
  readonly #now: () => number
  #tokens: number
  #at: number
  #pending = 0
  #pausedFor = 0
  #timer: NodeJS.Timeout | null = null
  #checkScheduled = false

  constructor (options: PublishFlowOptions) {
    this.#options = options
    this.#now = options.now ?? (() => performance.now())
    this.#tokens = options.ratePerSecond
    this.#at = this.#now()
  }

  get pending (): number { return this.#pending }
  /** PAUSE_* bits of what holds reading now; 0 while reading. */
  get pausedFor (): number { return this.#pausedFor }

  /** A publish was accepted and handed to the broker. */
  started (): void {
    this.#pending++
    // Checked after this turn: a broker that takes publications at once settles them within the
    // turn (a burst of frames from one TCP read must not pause reading); one that has not by then
    // really owes them.
    if (this.#pending >= this.#options.maxPending && !this.#checkScheduled) {
      this.#checkScheduled = true
      setImmediate(this.#checkPending)
    }
    const rate = this.#options.ratePerSecond
    if (rate <= 0) return
    const now = this.#now()
    // Frames already read keep arriving after a pause: they are taken (the tokens go negative)
    // and the wait grows with the debt, so the average rate holds and nothing is lost.
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#at) / 1000) * rate) - 1
    this.#at = now
    if (this.#tokens < 0 && (this.#pausedFor & PAUSE_RATE) === 0) {
      this.#pause(PAUSE_RATE)
      // Until the debt is paid and one token is back: the next publish then goes through.
      const waitMs = Math.ceil(((1 - this.#tokens) / rate) * 1000)
      this.#timer = setTimeout(() => {
        this.#timer = null
        this.#release(PAUSE_RATE)
      }, waitMs)
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

  /** The session ended. */
  stop (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
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
