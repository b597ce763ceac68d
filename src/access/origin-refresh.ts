// Keeps the origin policy's database hosts current: read at start, then every interval, so an
// application URL changed in Oro's system configuration is allowed without a restart. When the
// database cannot be read the last known list stays, said once per outage (and once when back).
// Until a first read succeeded (the database boots after the gateway, a wrong password) the hosts
// of Oro's URLs are missing and real browsers would get 403: so while failing it reads again every
// few seconds instead of every interval, readiness says "not loaded" with the database's problem,
// and `problem` lets the 403's log line name that problem instead of the override setting.
// `refresh()` reads at once (the database answering again); `refreshNow()` in a read that begins
// after the call (Oro's state row changing). The next periodic read counts from the last one's end.
import type { OriginPolicy } from './origin.js'
import type { OroOriginSource } from './oro-config-origins.js'
import { classifyDatabaseError, type DatabaseFailure } from '../auth/database-error.js'
import type { Log } from '../logger.js'

export interface OriginRefreshOptions {
  source: OroOriginSource
  policy: OriginPolicy
  /** Between reads; 0 = read at start only (and again until a first read succeeded). */
  intervalMs: number
  /** Between reads while the database cannot be read. Default 2,000 ms. */
  retryMs?: number
  /** The variable the database comes from (ORO_DB_DSN or ORO_DB_URL), for messages. */
  setting?: string
  /** Masked in the driver's messages (the database password). */
  secrets?: readonly string[]
  log: Pick<Log, 'notice' | 'warn'>
}

// Problems waiting does not fix: the tables are missing (not an Oro database, another schema) or
// not readable by this user. The defaults stand, said once; other problems are retried.
const LASTING = new Set(['table', 'access'])

export class OriginRefresh {
  readonly #options: OriginRefreshOptions
  readonly #setting: string
  #hosts: string[] | undefined
  #failing = false
  #failure: DatabaseFailure | undefined
  #settled = false
  #stopped = false
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #waiters: Array<() => void> = []

  constructor (options: OriginRefreshOptions) {
    this.#options = options
    this.#setting = options.setting ?? 'ORO_DB_URL'
  }

  /** Hosts last read from the database (undefined before a read succeeded). */
  get hosts (): readonly string[] | undefined { return this.#hosts }

  /**
   * Why Oro's origins are missing: the database's problem while no read has succeeded, undefined
   * once they are loaded (or when its tables cannot be read for good: said at start, and then
   * listing the hosts in ORO_WEBSOCKET_ALLOWED_ORIGINS is a fix).
   */
  get problem (): { summary: string, hint: string, setting: string } | undefined {
    if (this.#hosts !== undefined || this.#failure === undefined || LASTING.has(this.#failure.problem)) return undefined
    return { summary: this.#failure.summary, hint: this.#failure.hint, setting: this.#setting }
  }

  /** For /readyz: 'ok' once Oro's origins are loaded (or cannot be, for good), else why not. */
  readiness (): string {
    if (this.#settled) return 'ok'
    return this.#failure === undefined ? 'checking' : `Oro's allowed origins not loaded: ${this.#failure.summary}`
  }

  /** The first read (awaited, so the first browsers are judged by it), then the later ones. */
  async start (): Promise<void> {
    await this.refresh()
  }

  /** No more reads; waits for one running, so no connection outlives the gateway. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
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
      if (this.#timer !== undefined) clearTimeout(this.#timer)
      this.#timer = undefined
      // Only those waiting before this read began see it as theirs: it reads what was there then.
      const waiting = this.#waiters.splice(0)
      this.#running = this.#read().finally(() => {
        this.#running = undefined
        this.#schedule()
        for (const resolve of waiting) resolve()
      })
    }
    await this.#running
  }

  #schedule (): void {
    if (this.#stopped) return
    const { intervalMs } = this.#options
    const delay = !this.#settled ? this.#options.retryMs ?? 2000 : intervalMs
    if (delay <= 0) return
    this.#timer = setTimeout(() => { void this.refresh() }, delay)
    this.#timer.unref()
  }

  async #read (): Promise<void> {
    const { source, policy, log } = this.#options
    let hosts: string[]
    try {
      hosts = await source.read()
    } catch (error) {
      const failure = classifyDatabaseError(error, this.#options.secrets ?? [], this.#setting)
      const first = !this.#failing || failure.problem !== this.#failure?.problem
      this.#failing = true
      this.#failure = failure
      if (LASTING.has(failure.problem)) this.#settled = true
      if (first) {
        const fields = { problem: failure.problem, code: failure.code, error: failure.detail, origins: policy.entries }
        if (this.#hosts !== undefined) {
          log.warn(fields, `Allowed origins: Oro's configuration could not be read from ${this.#setting} (${failure.summary}); keeping the last known list`)
        } else if (LASTING.has(failure.problem)) {
          log.warn(fields, `Allowed origins: Oro's configuration tables cannot be read from ${this.#setting} (${failure.summary}); only ${policy.entries.join(', ')} are allowed; grant the gateway's user read access to oro_config and oro_config_value, or list the hosts in ORO_WEBSOCKET_ALLOWED_ORIGINS`)
        } else {
          log.warn(fields, `Allowed origins: Oro's configuration could not be read from ${this.#setting} (${failure.summary}); browsers from the application URL are refused until it can, tried again every ${Math.round((this.#options.retryMs ?? 2000) / 1000)} s; ${failure.hint}`)
        }
      }
      return
    }
    const recovered = this.#failing
    this.#failing = false
    this.#failure = undefined
    this.#settled = true
    const changed = this.#hosts === undefined || hosts.join(',') !== this.#hosts.join(',')
    this.#hosts = hosts
    if (!changed && !recovered) return
    policy.setDatabaseHosts(hosts)
    // After a failure (said at warning) the recovery is said at the same level.
    log[recovered ? 'warn' : 'notice']({ origins: policy.entries, fromDatabase: hosts },
      `Allowed origins: ${policy.entries.join(', ')} (from Oro's configuration: ${hosts.length === 0 ? 'no application URL set' : hosts.join(', ')})`)
  }
}
