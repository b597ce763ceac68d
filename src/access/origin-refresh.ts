// Keeps the origin policy's database hosts current: read at start, then every interval, so an
// application URL changed in Oro's system configuration is allowed without a restart. When the
// database cannot be read the last known list stays, said once per outage (and once when back).
import type { OriginPolicy } from './origin.js'
import type { OroOriginSource } from './oro-config-origins.js'
import type { Log } from '../logger.js'

export interface OriginRefreshOptions {
  source: OroOriginSource
  policy: OriginPolicy
  /** Between reads; 0 = read at start only. */
  intervalMs: number
  log: Pick<Log, 'notice' | 'warn'>
}

export class OriginRefresh {
  readonly #options: OriginRefreshOptions
  #hosts: string[] | undefined
  #failing = false
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #waiters: Array<() => void> = []

  constructor (options: OriginRefreshOptions) {
    this.#options = options
  }

  /** Hosts last read from the database (undefined before a read succeeded). */
  get hosts (): readonly string[] | undefined { return this.#hosts }

  /** The first read (awaited, so the first browsers are judged by it), then the periodic ones. */
  async start (): Promise<void> {
    await this.refresh()
    const interval = this.#options.intervalMs
    if (interval > 0) {
      this.#timer = setInterval(() => { void this.refresh() }, interval)
      this.#timer.unref()
    }
  }

  /** No more reads; waits for one running, so no connection outlives the gateway. */
  async stop (): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** Resolves when a read that began after this call has ended (whatever its outcome). */
  async nextRefresh (): Promise<void> {
    await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }

  /**
   * Reads now, in a read that begins after this call (a read already running may have begun
   * before the change that asked for this one): what a change of Oro's configuration needs.
   * Never throws.
   */
  async refreshNow (): Promise<void> {
    const next = this.nextRefresh()
    await this.#running
    await this.refresh()
    await next
  }

  /** Reads now (joining a read already running). Never throws. */
  async refresh (): Promise<void> {
    if (this.#running === undefined) {
      // Only those waiting before this read began see it as theirs: it reads what was there then.
      const waiting = this.#waiters.splice(0)
      this.#running = this.#read().finally(() => {
        this.#running = undefined
        for (const resolve of waiting) resolve()
      })
    }
    await this.#running
  }

  async #read (): Promise<void> {
    const { source, policy, log } = this.#options
    let hosts: string[]
    try {
      hosts = await source.read()
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true
        log.warn({ err: (error as Error).message, origins: policy.entries },
          "Allowed origins: Oro's configuration could not be read from ORO_DB_URL; keeping the last known list")
      }
      return
    }
    const recovered = this.#failing
    this.#failing = false
    const changed = this.#hosts === undefined || hosts.join(',') !== this.#hosts.join(',')
    this.#hosts = hosts
    if (!changed && !recovered) return
    policy.setDatabaseHosts(hosts)
    log.notice({ origins: policy.entries, fromDatabase: hosts },
      `Allowed origins: ${policy.entries.join(', ')} (from Oro's configuration: ${hosts.length === 0 ? 'no application URL set' : hosts.join(', ')})`)
  }
}
