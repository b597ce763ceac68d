// The digest check of a session resumed by its cookie (resume-cookie.ts). The session is open
// before its ticket's digest is known, so:
// - the check waits its turn in admission like any verification (ahead of fresh tickets, see
//   admission.ts) and must end within `timeoutMs`; past it the session counts as 'unverified';
// - a ticket whose digest fails ('forged') revokes the whole cookie chain and counts as a failed
//   ticket for the client's network and user;
// - a check that cannot run (database down, shutting down, refused by admission) is 'unverified',
//   never a pass;
// - at most MAX_UNVERIFIED_PER_CHAIN sessions of one chain wait for their check at once (a user's
//   tabs after a restart); more are not resumed and verify their ticket in full.
// The caller drops an 'unverified' session (no close frame: a real page reconnects) and closes a
// 'forged' one with 1008.
import type { Admission, AdmissionRequest, Admitted } from './admission.js'

export type RecheckResult = 'ok' | 'forged' | 'unverified'

export const MAX_UNVERIFIED_PER_CHAIN = 16

export interface ResumeRecheckOptions {
  admission: Pick<Admission, 'enter'>
  /** The full verification of a ticket (its digest); throws with statusCode 401 when it is wrong. */
  verify: (ticket: string | undefined) => Promise<unknown>
  /** Revokes the chain of the cookie in this Cookie header. */
  revoke: (cookieHeader: string | undefined) => void
  timeoutMs: number
  /** Told of each forged ticket (for the log). */
  onForged?: (error: { code?: string, message?: string }) => void
}

export interface RecheckRequest {
  ticket: string | undefined
  cookieHeader: string | undefined
  chain: string
  /** Who, for admission (network, aggregate, username) and whether the client is still there. */
  who: Omit<AdmissionRequest, 'recheck' | 'trusted'>
}

export class ResumeRechecks {
  readonly #options: ResumeRecheckOptions
  readonly #unverified = new Map<string, number>()
  readonly stats = { started: 0, failed: 0, late: 0, unverified: 0 }

  constructor (options: ResumeRecheckOptions) {
    this.#options = options
  }

  /** Whether one more session of this chain may be resumed before the others' checks end. */
  mayResume (chain: string): boolean {
    return (this.#unverified.get(chain) ?? 0) < MAX_UNVERIFIED_PER_CHAIN
  }

  /** Checks a resumed session's ticket; never rejects. */
  async check (request: RecheckRequest): Promise<RecheckResult> {
    this.stats.started++
    const chain = request.chain
    this.#unverified.set(chain, (this.#unverified.get(chain) ?? 0) + 1)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<RecheckResult>((resolve) => {
      timer = setTimeout(() => { this.stats.late++; resolve('unverified') }, this.#options.timeoutMs)
    })
    try {
      const result = await Promise.race([this.#run(request), late])
      if (result === 'unverified') this.stats.unverified++
      return result
    } finally {
      clearTimeout(timer)
      const left = (this.#unverified.get(chain) ?? 1) - 1
      if (left <= 0) this.#unverified.delete(chain)
      else this.#unverified.set(chain, left)
    }
  }

  // Goes on after the deadline: a forged ticket found late still revokes the chain.
  async #run (request: RecheckRequest): Promise<RecheckResult> {
    const entry = await this.#options.admission.enter({ ...request.who, recheck: true })
    if (!entry.admitted) return 'unverified'
    return await this.#verify(request, entry)
  }

  async #verify (request: RecheckRequest, entry: Admitted): Promise<RecheckResult> {
    try {
      await this.#options.verify(request.ticket)
      entry.release('ok')
      return 'ok'
    } catch (caught) {
      const error = caught as { statusCode?: number, code?: string, message?: string }
      if (error.statusCode !== 401) {
        // Not checked is not a pass.
        entry.release('neutral')
        return 'unverified'
      }
      entry.release('failed')
      this.stats.failed++
      this.#options.revoke(request.cookieHeader)
      this.#options.onForged?.(error)
      return 'forged'
    }
  }
}
