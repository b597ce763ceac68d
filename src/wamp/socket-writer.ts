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
import type { Socket } from 'node:net'

const IDLE = 0
const WROTE = 1
const CORKED = 2
const STATE_NAMES = ['idle', 'wrote', 'corked'] as const
export type WriterState = typeof STATE_NAMES[number]

export const BURST_MS = 1
/** Longest a turn is held open while a fan-out is under way (latency bound for its frames). */
export const HOLD_MS = 50

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

  constructor (options: {
    now?: () => number
    onError?: (err: unknown) => void
    /** True while a fan-out is under way: the turn is held open (up to holdMs). */
    holdWhile?: () => boolean
    holdMs?: number
  } = {}) {
    this.#now = options.now ?? Date.now
    this.#onError = options.onError ?? ((err) => { process.emitWarning(String(err)) })
    this.#holdWhile = options.holdWhile ?? null
    this.#holdMs = options.holdMs ?? HOLD_MS
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
  /** Bytes handed to the socket during the current turn. */
  #turnBytes = 0

  constructor (socket: WritableSocket, scheduler: WriteScheduler) {
    this.#socket = socket
    this.#scheduler = scheduler
  }

  get state (): WriterState { return STATE_NAMES[this.#state] }

  /**
   * Bytes handed to the socket in earlier turns that the kernel has not taken yet: what a slow
   * reader leaves behind. Frames held in the current turn do not count (the kernel has not been
   * offered them yet); the kernel takes bytes in order, so those of earlier turns leave first.
   */
  get backlog (): number {
    const backlog = this.#socket.writableLength - this.#turnBytes
    return backlog > 0 ? backlog : 0
  }

  write (frame: Buffer): void {
    const socket = this.#socket
    const state = this.#state
    this.#turnBytes += frame.length
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
    this.#turnBytes = 0
    if (corked) this.#socket.uncork()
  }
}
