// The largest message a session may send, per connection: Oro's PHP backend publishes mass
// updates of 100 KB and more (Ratchet had no practical limit), while a browser never needs more
// than a few KB. ws takes maxPayload from the server's options when it wires a socket's receiver
// (WebSocket#setSocket); the server lets us name the WebSocket class it makes (its documented
// `WebSocket` option), so this subclass swaps in the limit the upgrade decided for that socket.
// Enforced by ws's own receiver before the message is buffered: a browser can never make the
// gateway hold a backend-sized message.
import type { Duplex } from 'node:stream'
import { WebSocket } from 'ws'

// Limits decided for sockets whose upgrade is under way, read once as ws wires the socket.
const limits = new WeakMap<Duplex, number>()

interface ReceiverOptions {
  maxPayload?: number
  maxBufferedChunks?: number
  [option: string]: unknown
}

// ws's defaults (16,384 fragments, 262,144 buffered chunks) let one session hold tens of MB of
// bookkeeping for one small message. A browser or Oro's PHP client sends each message as one
// frame; its chunks are TCP reads, rarely under 64 bytes each.
export const MAX_FRAGMENTS = 64
export function maxBufferedChunks (maxMessageBytes: number): number {
  return Math.max(1024, Math.ceil(maxMessageBytes / 64))
}

/** Called before the upgrade completes (the socket is the request's). */
export function setMessageLimit (socket: Duplex, bytes: number): void {
  limits.set(socket, bytes)
}

/** The limit the socket was given, undefined when none (the server's maxPayload applies). */
export function messageLimitOf (socket: Duplex): number | undefined {
  return limits.get(socket)
}

type SetSocket = (this: WebSocket, socket: Duplex, head: Buffer, options: ReceiverOptions) => void
const setSocket = (WebSocket.prototype as unknown as { setSocket: SetSocket }).setSocket
if (typeof setSocket !== 'function') throw new Error('ws no longer has WebSocket#setSocket; check src/wamp/message-limit.ts against the installed ws')

class LimitedWebSocket extends WebSocket {}
/** For the server's `WebSocket` option. */
export const MessageLimitedWebSocket: typeof WebSocket = LimitedWebSocket
Object.defineProperty(LimitedWebSocket.prototype, 'setSocket', {
  value: function (this: WebSocket, socket: Duplex, head: Buffer, options: ReceiverOptions): void {
    const limit = messageLimitOf(socket)
    setSocket.call(this, socket, head, limit === undefined ? options : { ...options, maxPayload: limit, maxBufferedChunks: maxBufferedChunks(limit) })
  },
  writable: true,
  configurable: true
})

/** How big the message that went over the limit is, as far as ws knows when it stops. */
export interface Oversize {
  /** Bytes: the message's size when `exact`, else how many it had reached (at least). */
  bytes: number
  /**
   * True when the frame that went over is the message's last (FIN): its header announced the
   * length before any of its payload was read, so the sum is the whole message's size. False for
   * a fragmented message stopped before its last frame (more may have followed) or when ws's
   * internals are not what this reads (then bytes is 0).
   */
  exact: boolean
}

interface ReceiverState {
  _fin?: unknown
  _compressed?: unknown
  _totalPayloadLength?: unknown
  _messageLength?: unknown
}

/**
 * Read in the 'error' handler of WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: ws's receiver has added the
 * announced length of the frame over the limit to the message's total (Receiver#haveLength) and
 * stops there, before reading its payload; the total is reset only once a message completes.
 */
export function oversizeOf (ws: WebSocket): Oversize {
  const receiver = (ws as unknown as { _receiver?: ReceiverState | null })._receiver
  const total = receiver?._compressed === true ? receiver._messageLength : receiver?._totalPayloadLength
  if (typeof total !== 'number' || total <= 0) return { bytes: 0, exact: false }
  return { bytes: total, exact: receiver?._fin === true && receiver._compressed !== true }
}
