// How frames reach one socket. The first frame of an event-loop turn goes straight to the socket
// (one syscall, no waiting: the fixed-rate case); a second frame in the same turn corks it, and
// the rest of the turn's frames leave together in one writev when the turn ends (bursts). A socket
// already written to less than BURST_MS before holds its first frame of the turn too, so during a
// burst every turn leaves in one writev (docs/benchmark.md, "bursts across turns").
//
// The turn's state lives in a WriteScheduler owned by whoever owns the sockets (the websocket
// plugin), not in module state: a write made while a turn is being ended joins the next turn and
// is never left corked.
//
// While a large fan-out is under way (the hub yields to the event loop between parts of it), the
// turn is held open for up to HOLD_MS: the fan-out's frames still leave in few writev calls per
// socket, as when it ran in one turn, while the event loop serves other work in between.
//
// A writer also knows the largest of its unsent writes (largestUnsent), so that one event larger
// than ORO_WEBSOCKET_MAX_BUFFERED_BYTES (a mass edit from Oro's backend) does not make its reader
// look slow (session.ts). Only writes of at least largeFrameBytes are noted (a compare per write;
// the rest costs only for those, which are rare and each cost a copy of their own anyway).
import type { Socket } from 'node:net'

const IDLE = 0
const WROTE = 1
const CORKED = 2
const STATE_NAMES = ['idle', 'wrote', 'corked'] as const
export type WriterState = typeof STATE_NAMES[number]

export const BURST_MS = 1
/** Longest a turn is held open while a fan-out is under way (latency bound for its frames). */
export const HOLD_MS = 50
/** Default size from which a write is noted while unsent (largestUnsent). */
export const LARGE_FRAME_BYTES = 64 * 1024

/** What a writer needs from its socket (a net.Socket; a stand-in in unit tests). */
export type WritableSocket = Pick<Socket, 'write' | 'cork' | 'uncork' | 'writableLength'>

/** Ends the turn of every writer written to during it, once per event-loop turn. */
export class WriteScheduler {
  #touched: SocketWriter[] = []
  #spare: SocketWriter[] = []
  #scheduled = false
  #turnTime = 0
  /** When the current turn was first held open, or -1. */
  #heldSince = -1
  readonly #now: () => number
  readonly #onError: (err: unknown) => void
  readonly #holdWhile: (() => boolean) | null
  readonly #holdMs: number
  /** Writes of at least this many bytes are noted while unsent (SocketWriter.largestUnsent). */
  readonly largeFrameBytes: number

  constructor (options: {
    now?: () => number
    onError?: (err: unknown) => void
    /** True while a fan-out is under way: the turn is held open (up to holdMs). */
    holdWhile?: () => boolean
    holdMs?: number
    /** Writes of at least this many bytes are noted while unsent (LARGE_FRAME_BYTES). */
    largeFrameBytes?: number
  } = {}) {
    this.#now = options.now ?? Date.now
    this.#onError = options.onError ?? ((err) => { process.emitWarning(String(err)) })
    this.#holdWhile = options.holdWhile ?? null
    this.#holdMs = options.holdMs ?? HOLD_MS
    this.largeFrameBytes = Math.max(1, options.largeFrameBytes ?? LARGE_FRAME_BYTES)
  }

  /** A writer's first write of a turn: it is ended with the turn. Returns the turn's clock. */
  join (writer: SocketWriter): number {
    this.#touched.push(writer)
    if (!this.#scheduled) {
      this.#scheduled = true
      this.#turnTime = this.#now()
      setImmediate(this.endTurn)
    }
    return this.#turnTime
  }

  /** True while a fan-out holds turns open: every writer's first frame is held too. */
  get holding (): boolean { return this.#holdWhile !== null && this.#holdWhile() }

  /** Writers written to in the current turn. */
  get pending (): number { return this.#touched.length }

  /** Ends the current turn: every held frame leaves. (Runs by itself after each turn.) */
  readonly endTurn = (): void => {
    if (this.#holdWhile !== null && this.#holdWhile()) {
      const now = this.#now()
      if (this.#heldSince === -1) this.#heldSince = now
      if (now - this.#heldSince < this.#holdMs) {
        this.#turnTime = now
        setImmediate(this.endTurn)
        return
      }
    }
    this.#heldSince = -1
    this.#scheduled = false
    const list = this.#touched
    // Writes made while this turn ends (re-entrant) join a fresh list and a new turn.
    this.#touched = this.#spare
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as SocketWriter).endTurn()
      } catch (err) {
        // One socket's failure must not leave the others corked.
        this.#onError(err)
      }
    }
    list.length = 0
    this.#spare = list
  }
}

export class SocketWriter {
  readonly #socket: WritableSocket
  readonly #scheduler: WriteScheduler
  #state = IDLE
  #lastTurnTime = -Infinity
  /**
   * Bytes handed to the socket by write() in the current turn. Large writes' ends count from the
   * start of the current turn (negative for earlier turns; rebased as each turn ends), so no
   * counter grows with the connection's age.
   */
  #written = 0
  readonly #largeFrameBytes: number
  /**
   * The large writes (largeFrameBytes or more) that may be unsent, as [length, end, ...] pairs
   * in the first #largeUsed slots (end: #written just after it): lengths strictly decreasing, so the
   * first is the largest; a write drops the smaller ones before it (they leave before it does).
   * Slots are reused, never freed (no array work per write beyond two stores). Null until the first.
   */
  #large: number[] | null = null
  #largeUsed = 0

  constructor (socket: WritableSocket, scheduler: WriteScheduler) {
    this.#socket = socket
    this.#scheduler = scheduler
    this.#largeFrameBytes = scheduler.largeFrameBytes
  }

  get state (): WriterState { return STATE_NAMES[this.#state] }

  /**
   * Bytes handed to the socket in earlier turns that the kernel has not taken yet: what a slow
   * reader leaves behind. Frames held in the current turn do not count (the kernel has not been
   * offered them yet); the kernel takes bytes in order, so those of earlier turns leave first.
   */
  get backlog (): number {
    const backlog = this.#socket.writableLength - this.#written
    return backlog > 0 ? backlog : 0
  }

  /**
   * The longest write of largeFrameBytes or more that the kernel has not taken in full (0: none).
   * Node counts a write as unsent until its last byte is taken, so a large event counts whole.
   */
  get largestUnsent (): number {
    const large = this.#large
    if (large === null || this.#largeUsed === 0) return 0
    this.#dropSent(large)
    return this.#largeUsed === 0 ? 0 : large[0] as number
  }

  /** Forgets the large writes the kernel has taken: their end is at most what left the socket. */
  #dropSent (large: number[]): void {
    // Bytes not written through here (the WELCOME, pongs) make `taken` smaller: a write is
    // forgotten later, never sooner.
    const taken = this.#written - this.#socket.writableLength
    const used = this.#largeUsed
    let i = 0
    while (i < used && (large[i + 1] as number) <= taken) i += 2
    if (i === 0) return
    // The list holds a few pairs: moved down in place.
    for (let j = i; j < used; j++) large[j - i] = large[j] as number
    this.#largeUsed = used - i
  }

  /** The turn ends: what is still unsent is kept, with its end counted from the next turn's start. */
  #rebaseLarge (): void {
    const large = this.#large as number[]
    this.#dropSent(large)
    const written = this.#written
    for (let i = 1; i < this.#largeUsed; i += 2) large[i] = (large[i] as number) - written
  }

  /** Called before the write is counted in #written or handed to the socket. */
  #noteLarge (length: number): void {
    const large = (this.#large ??= [])
    if (this.#largeUsed > 0) this.#dropSent(large)
    let used = this.#largeUsed
    while (used > 0 && (large[used - 2] as number) <= length) used -= 2
    large[used] = length
    large[used + 1] = this.#written + length
    this.#largeUsed = used + 2
  }

  write (frame: Buffer): void {
    const socket = this.#socket
    const state = this.#state
    if (frame.length >= this.#largeFrameBytes) this.#noteLarge(frame.length)
    this.#written += frame.length
    if (state === CORKED) {
      socket.write(frame)
      return
    }
    if (state === IDLE) {
      const turnTime = this.#scheduler.join(this)
      const inBurst = turnTime - this.#lastTurnTime <= BURST_MS
      this.#lastTurnTime = turnTime
      if (inBurst || this.#scheduler.holding) {
        this.#state = CORKED
        socket.cork()
      } else {
        this.#state = WROTE
      }
    } else {
      this.#state = CORKED
      socket.cork()
    }
    socket.write(frame)
  }

  /** The turn ended: frames held since the second one of the turn leave now. */
  endTurn (): void {
    const corked = this.#state === CORKED
    // Reset first: a write made from inside uncork starts a new turn instead of joining this one.
    this.#state = IDLE
    if (this.#largeUsed > 0) this.#rebaseLarge()
    this.#written = 0
    if (corked) this.#socket.uncork()
  }
}
