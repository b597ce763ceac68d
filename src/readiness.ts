// What /readyz reports: the server's own state (starting, listening, draining, closing) and one
// check per dependency (broker, database) that later plugins register. Pure state, no Fastify.
// Draining: unready, sessions dropped, requests still served (load balancers are noticing).
// Closing: the listeners are about to close; new publications are refused (503, Retry-After) so
// that clients back off and none is connecting at the moment a listener closes.

export type ServerState = 'starting' | 'listening' | 'draining' | 'closing'

/** A dependency check answers 'ok' or a short reason it is not ready. */
export type ReadinessCheck = () => string

export interface ReadinessReport {
  ready: boolean
  checks: Record<string, string>
}

export class Readiness {
  #state: ServerState = 'starting'
  readonly #checks = new Map<string, ReadinessCheck>()
  readonly #drainListeners: Array<() => void> = []

  get state (): ServerState { return this.#state }
  get draining (): boolean { return this.#state === 'draining' || this.#state === 'closing' }
  get closing (): boolean { return this.#state === 'closing' }

  markListening (): void {
    if (this.#state === 'starting') this.#state = 'listening'
  }

  /** Turns the server unready at once and tells every listener (e.g. to drop WebSocket sessions). */
  markDraining (): void {
    if (this.draining) return
    this.#state = 'draining'
    for (const listener of this.#drainListeners) listener()
  }

  /** After the drain delay: the listeners close once the requests in flight are answered. */
  markClosing (): void {
    this.markDraining()
    this.#state = 'closing'
  }

  onDrain (listener: () => void): void {
    this.#drainListeners.push(listener)
  }

  register (name: string, check: ReadinessCheck): void {
    if (name === 'server' || this.#checks.has(name)) throw new Error(`readiness check "${name}" is registered twice`)
    this.#checks.set(name, check)
  }

  report (): ReadinessReport {
    const checks: Record<string, string> = { server: this.#state === 'listening' ? 'ok' : this.#state }
    let ready = this.#state === 'listening'
    for (const [name, check] of this.#checks) {
      let result: string
      try {
        result = check()
      } catch (err) {
        result = `check failed: ${(err as Error).message}`
      }
      checks[name] = result
      if (result !== 'ok') ready = false
    }
    return { ready, checks }
  }
}
