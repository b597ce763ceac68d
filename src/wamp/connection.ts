// One WebSocket connection's bytes out, all of them: the WELCOME that leaves with the 101, data
// frames and pings (ready-made frames, merged into corked writes per event-loop turn:
// socket-writer.ts), pongs, the Close frame, and the drop (the TCP connection ended without a
// Close frame). Nothing else writes to
// the socket: ws's Sender writes the control frames only when asked from here, and the one it
// writes on its own (the answer to a client's Close) is seen in its readyState, the truth this
// object reads before every write. So no frame follows a Close frame (RFC 6455 §5.5.1) and no
// write reaches an ended socket (no write-after-end).
//
//   open     frames may be written
//   closing  a Close frame was sent or received (ws's CLOSING), or the socket ended: nothing more
//   ended    dropped, or the socket closed (ws's CLOSED)
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import { SocketWriter, type WriteScheduler } from './socket-writer.js'

export type ConnectionState = 'open' | 'closing' | 'ended'

const OPEN = WebSocket.OPEN

// Pongs written and not yet taken by the kernel before a ping flood is dropped (ws's own bound
// for its auto-pong, which ends the session without a word).
export const MAX_PENDING_PONGS = 60

/**
 * Called as ws is about to write the 101 of an accepted WAMP upgrade: the socket's writes are held
 * until welcome() adds the WELCOME, so both leave in one write (Oro's PHP client reads once,
 * oro-compat §3).
 */
export function holdHandshake (socket: Socket): void {
  socket.cork()
}

// A connection is its socket's writer (the scheduler ends its turns), with the state and the
// frames the writer does not know of: one object per socket on the fan-out's path, not two.
export class Connection extends SocketWriter {
  readonly #ws: WebSocket
  readonly #socket: Socket
  #dropped = false
  #pendingPongs = 0

  constructor (ws: WebSocket, socket: Socket, writes: WriteScheduler) {
    super(socket, writes)
    this.#ws = ws
    this.#socket = socket
  }

  /** Where the connection is (see the file's comment). */
  get connectionState (): ConnectionState {
    if (this.#dropped) return 'ended'
    const ready = this.#ws.readyState
    if (ready === OPEN) return this.#socket.writableEnded ? 'closing' : 'open'
    return ready === WebSocket.CLOSING ? 'closing' : 'ended'
  }

  /**
   * Frames may be written. ws's readyState alone says it: ws makes it CLOSING before it writes a
   * Close frame, when one arrives, before it ends the socket (the peer's FIN) and when drop()
   * destroys it; a socket destroyed by an error takes writes as no-ops until ws hears of it.
   */
  get open (): boolean {
    return this.#ws.readyState === OPEN
  }

  /** The first frame, in the write the 101 is held in (holdHandshake): then the socket is let go. */
  welcome (frame: Buffer): void {
    this.#socket.write(frame)
    this.#socket.uncork()
  }

  /** A ready-made data frame; false (nothing written) unless open. */
  send (frame: Buffer): boolean {
    if (this.#ws.readyState !== OPEN) return false
    super.write(frame)
    return true
  }

  /** The writer's own write, checked like send: there is no unchecked way to the socket. */
  override write (frame: Buffer): void {
    this.send(frame)
  }

  /**
   * Answers a ping; false (nothing written) when MAX_PENDING_PONGS pongs are still unread: a ping
   * flood, which the caller drops.
   */
  pong (data: Buffer): boolean {
    if (!this.open) return true
    if (this.#pendingPongs >= MAX_PENDING_PONGS) return false
    this.#pendingPongs++
    // A callback per pong (pings are rare), none held per connection.
    this.#ws.pong(data, false, () => { this.#pendingPongs-- })
    return true
  }

  /** A clean close: the Close frame after every frame already written; nothing after it. */
  close (code: number, reason: string): void {
    if (!this.open) return
    // A close reason has at most 123 bytes.
    this.#ws.close(code, Buffer.from(reason).subarray(0, 123).toString())
  }

  /** Ends the TCP connection without a Close frame (Oro's browser code then reconnects). */
  drop (): void {
    if (this.#dropped) return
    this.#dropped = true
    this.#ws.terminate()
  }

  pauseReading (): void { this.#ws.pause() }
  resumeReading (): void { if (this.open) this.#ws.resume() }
}
