// A wrong ORO_SECRET shows only as tickets failing their digest: every browser and Oro's backend
// get 401, and each refusal is logged at info (hidden at prod's default level), so all an
// operator would see is the rate limit's warning. This counts, per minute, the tickets accepted
// and those whose digest did not match; when most fail (and enough to mean something), one
// warning says what that means and how to check it, at most once a minute, with the counts.
// A client sending forged tickets looks the same from here: the line says how many networks the
// failures came from, so one network's flood can be told from a whole site's wrong secret.

export interface SecretMismatchReport {
  failed: number
  accepted: number
  /** Distinct client networks (IPv4 /24, IPv6 /64) the failed tickets came from. */
  networks: number
  /** Of the failed, tickets without a user: they need nothing but ORO_SECRET to be right. */
  anonymous: number
}

export interface SecretMismatchOptions {
  /** Failed digests in a minute before anything is said. Default 5. */
  minFailures?: number
  /** Length of a counting window, and the least time between two warnings. Default 60,000 ms. */
  windowMs?: number
  now?: () => number
  /** Called with the window's counts when most tickets fail (at most once per window). */
  report: (counts: SecretMismatchReport) => void
}

// Networks remembered per window: enough to tell "one" from "many".
const MAX_NETWORKS = 1000

export class SecretMismatchWatch {
  readonly #minFailures: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #report: (counts: SecretMismatchReport) => void
  #windowStart = -Infinity
  #failed = 0
  #accepted = 0
  #anonymous = 0
  #networks = new Set<string>()
  #reportedAt = -Infinity

  constructor (options: SecretMismatchOptions) {
    this.#minFailures = options.minFailures ?? 5
    this.#windowMs = options.windowMs ?? 60_000
    this.#now = options.now ?? Date.now
    this.#report = options.report
  }

  /** A ticket was accepted (its digest matched, now or when it was cached). */
  accepted (): void {
    this.#roll()
    this.#accepted++
  }

  /** A ticket's digest did not match (GW_ERR_TICKET_INVALID). */
  failed (network: string, anonymous: boolean): void {
    const now = this.#roll()
    this.#failed++
    if (anonymous) this.#anonymous++
    if (this.#networks.size < MAX_NETWORKS) this.#networks.add(network)
    if (this.#failed < this.#minFailures || this.#failed <= this.#accepted) return
    if (now - this.#reportedAt < this.#windowMs) return
    this.#reportedAt = now
    this.#report({ failed: this.#failed, accepted: this.#accepted, networks: this.#networks.size, anonymous: this.#anonymous })
  }

  #roll (): number {
    const now = this.#now()
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now
      this.#failed = 0
      this.#accepted = 0
      this.#anonymous = 0
      this.#networks = new Set()
    }
    return now
  }
}

/** The warning's text: what most failing digests mean, and the command that checks it. */
export function secretMismatchMessage (counts: SecretMismatchReport): string {
  const from = counts.networks === 1 ? 'all from one client network (forged tickets from one client look the same)' : `from ${counts.networks} client networks`
  return `Most tickets fail their digest check: ${counts.failed} of ${counts.failed + counts.accepted} in the last minute (${counts.anonymous} anonymous, which need nothing but ORO_SECRET), ${from}: ` +
    'they do not match this ORO_SECRET. Give the gateway the Oro application\'s ORO_SECRET (its .env-app.local; serve --app-root DIR reads it) and ' +
    'check with `oro-websocket-gateway check --app-root DIR`, which makes a ticket as Oro does and tries it'
}
