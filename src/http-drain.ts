// Closing an HTTP listener without resetting a request. Node's server.close() also destroys
// every connection without a request in progress: one just accepted whose request is on its
// way, or a keep-alive one its client is writing to at that moment; that client sees a reset for
// a request it sent. Here, once closing: every answer closes its connection (Connection: close),
// the listener closes when no request is in flight (new publications are told to back off
// meanwhile, so polite clients are not connecting), and a connection without a request is given
// a grace period to send one (it is answered) before it is destroyed.
// stopAccepting() closes only the listening socket, earlier (the WebSocket listener, as the drain
// begins): new connections are refused by the kernel while the open ones are still served.
import type { Server, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'

export interface ConnectionTracker {
  /** Closes the listening socket at once (new connections are refused); open connections stay. */
  stopAccepting (): void
  /** Stops the listener and resolves once every connection has ended. */
  close (graceMs: number): Promise<void>
}

const kActive = Symbol('activeResponses')
/** A response and the set of its connection's responses in progress. */
type TrackedResponse = ServerResponse & { [kActive]?: Set<ServerResponse> | undefined }

export function trackConnections (server: Server): ConnectionTracker {
  /** Every open connection and the responses it has in progress. */
  const sockets = new Map<Socket, Set<ServerResponse>>()
  let closing = false
  let inFlight = 0
  let onQuiet: (() => void) | null = null
  let ended: Promise<void> | null = null
  // net's close, not http's: http's would destroy the connections without a request. It closes
  // the listening socket at once; its callback comes once every connection has ended.
  const stopAccepting = (): Promise<void> => {
    ended ??= new Promise<void>((resolve) => { NetServer.prototype.close.call(server, () => resolve()) })
    return ended
  }

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, new Set())
    socket.once('close', () => { sockets.delete(socket) })
  })
  // One listener for every response ('close' comes once): no closure and no once() wrapper per
  // request (~0.5 µs of each POST /publish: docs/benchmark.md, issue 20).
  const responseClosed = function (this: TrackedResponse): void {
    this[kActive]?.delete(this)
    if (--inFlight === 0) onQuiet?.()
  }
  // First among the request listeners, so the header is set before any answer is written.
  server.prependListener('request', (request, response: TrackedResponse) => {
    const active = sockets.get(request.socket)
    active?.add(response)
    response[kActive] = active
    inFlight++
    if (closing) response.setHeader('Connection', 'close')
    response.on('close', responseClosed)
  })

  return {
    stopAccepting () { void stopAccepting() },
    async close (graceMs) {
      closing = true
      // Answers still to be written close their connection too.
      for (const active of sockets.values()) {
        for (const response of active) if (!response.headersSent) response.setHeader('Connection', 'close')
      }
      if (inFlight > 0) await new Promise<void>((resolve) => { onQuiet = resolve })
      onQuiet = null
      const done = stopAccepting()
      const timer = setTimeout(() => {
        for (const [socket, active] of sockets) if (active.size === 0) socket.destroy()
      }, graceMs)
      timer.unref()
      await done
      clearTimeout(timer)
    }
  }
}
