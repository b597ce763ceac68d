// Finds the Oro user a ticket names, as Oro's UserLoader does: by username, then by email
// (case-insensitive) when the login looks like one. Rows are cached a few seconds and concurrent
// lookups of one login share a query, so a reconnect storm costs a handful of queries. Every
// database failure is GW_ERR_DATABASE_UNAVAILABLE (503, "retry"), never a 401, and names what
// went wrong (login, database, reachability). Once monitored, a store that is down checks the
// database again every few seconds by itself, so readiness comes back without any traffic.
import { classifyDatabaseError, databaseUnavailable, type DatabaseFailure } from './database-error.js'
import { parseDatabaseUrl } from './database-url.js'
import { createMysqlQueries } from './mysql-users.js'
import { createPgQueries } from './pg-users.js'
import { SingleFlight } from './single-flight.js'
import { TtlCache } from './ttl-cache.js'
import type { OroUser, UserQueries } from './user-queries.js'

export type { OroUser } from './user-queries.js'
export type { DatabaseFailure } from './database-error.js'

/** unknown: not checked yet; down: the last query failed, and why. */
export type DatabaseStatus = { state: 'unknown' } | { state: 'up' } | { state: 'down', failure: DatabaseFailure }

export interface UserStore {
  /** The user, null when none has this login; throws GW_ERR_DATABASE_UNAVAILABLE. */
  findUser: (login: string) => Promise<OroUser | null>
  /** Outcome of the last query: false after a failure, true again after a success. */
  readonly healthy: boolean
  close: () => Promise<void>
}

export interface UserStoreOptions {
  /** Oro's user table, `table` or `schema.table`. Default oro_user. */
  table?: string
  /** How long a row (or its absence) is reused. Default 5 s; 0 disables the cache. */
  cacheSeconds?: number
  /** Most rows kept. Default 10,000. */
  cacheSize?: number
  /** Connections in the pool. Default 4. */
  poolSize?: number
  /** Give up connecting after this long. Default 2,000 ms. */
  connectTimeoutMs?: number
  /** Give up on a query after this long. Default 5,000 ms. */
  queryTimeoutMs?: number
  /** While down and monitored, check the database again this long after the last check. Default 3,000 ms. */
  recheckMs?: number
  /** The variable the URL came from (ORO_DB_URL or ORO_DB_DSN), named in messages. Default ORO_DB_URL. */
  setting?: string
  /** Told of every change of status (up, down, down for another reason): for the log. */
  onStatus?: (status: DatabaseStatus, previous: DatabaseStatus) => void
  now?: () => number
}

export interface UserStoreStats {
  /** Lookups sent to the database (an email login that is no username takes two SELECTs). */
  queries: number
  /** Lookups that failed (connection or query). */
  failures: number
  cacheHits: number
  /** Lookups that joined one already running for the same login. */
  shared: number
}

export interface DatabaseUserStore extends UserStore {
  readonly stats: UserStoreStats
  /** ORO_DB_URL without its password. */
  readonly display: string
  /** Reads nothing from the user table (but needs it, with its columns) and updates the status; throws GW_ERR_DATABASE_UNAVAILABLE. */
  ping: () => Promise<void>
  readonly status: DatabaseStatus
  /** The /readyz check: 'ok', 'checking' before the first answer, or why it is down ("login refused (28P01)"). */
  readiness: () => string
  /** Checks the database now, and again every recheckMs while it is down, until close(). */
  monitor: () => void
}

/** A store on ORO_DB_URL (PostgreSQL or MySQL/MariaDB); throws ConfigError for a bad URL. */
export function createUserStore (url: string, options: UserStoreOptions = {}): DatabaseUserStore {
  const parsed = parseDatabaseUrl(url, options.setting)
  const settings = {
    table: options.table ?? 'oro_user',
    poolSize: options.poolSize ?? 4,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    queryTimeoutMs: options.queryTimeoutMs ?? 5000,
    setting: options.setting ?? 'ORO_DB_URL'
  }
  const queries = parsed.driver === 'pg' ? createPgQueries(parsed, settings) : createMysqlQueries(parsed, settings)
  return new CachedUserStore(queries, parsed.display, [parsed.password], options)
}

interface CachedLookup { user: OroUser | null }

class CachedUserStore implements DatabaseUserStore {
  readonly display: string
  readonly #queries: UserQueries
  readonly #cache: TtlCache<CachedLookup>
  readonly #flights = new SingleFlight<OroUser | null>()
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #secrets: readonly string[]
  readonly #setting: string
  readonly #recheckMs: number
  readonly #onStatus: UserStoreOptions['onStatus']
  #status: DatabaseStatus = { state: 'unknown' }
  #monitoring = false
  #checking = false
  #recheck: NodeJS.Timeout | undefined
  #queryCount = 0
  #failures = 0
  #cacheHits = 0
  #closed: Promise<void> | undefined

  constructor (queries: UserQueries, display: string, secrets: readonly string[], options: UserStoreOptions) {
    this.#queries = queries
    this.display = display
    this.#secrets = secrets
    this.#setting = options.setting ?? 'ORO_DB_URL'
    this.#cache = new TtlCache(options.cacheSize ?? 10_000)
    this.#ttlMs = (options.cacheSeconds ?? 5) * 1000
    this.#now = options.now ?? Date.now
    this.#recheckMs = options.recheckMs ?? 3000
    this.#onStatus = options.onStatus
  }

  get healthy (): boolean { return this.#status.state !== 'down' }

  get status (): DatabaseStatus { return this.#status }

  readiness (): string {
    switch (this.#status.state) {
      case 'up': return 'ok'
      case 'unknown': return 'checking'
      case 'down': return this.#status.failure.summary
    }
  }

  monitor (): void {
    if (this.#monitoring || this.#closed !== undefined) return
    this.#monitoring = true
    void this.#check()
  }

  get stats (): UserStoreStats {
    return { queries: this.#queryCount, failures: this.#failures, cacheHits: this.#cacheHits, shared: this.#flights.joined }
  }

  async findUser (login: string): Promise<OroUser | null> {
    const cached = this.#cache.get(login, this.#now())
    if (cached !== undefined) {
      this.#cacheHits++
      return cached.user
    }
    return await this.#flights.run(login, async () => {
      const user = await this.#run(async () => {
        const byName = await this.#queries.byUsername(login)
        return byName === null && login.includes('@') ? await this.#queries.byEmail(login) : byName
      })
      if (this.#ttlMs > 0) this.#cache.set(login, { user }, this.#now() + this.#ttlMs)
      return user
    })
  }

  async ping (): Promise<void> {
    await this.#run(async () => { await this.#queries.ping() })
  }

  async close (): Promise<void> {
    this.#cache.clear()
    clearTimeout(this.#recheck)
    this.#recheck = undefined
    this.#closed ??= this.#queries.close()
    await this.#closed
  }

  async #check (): Promise<void> {
    this.#checking = true
    try {
      await this.ping()
    } catch {
      // The status says why; the next check is scheduled below.
    } finally {
      this.#checking = false
    }
    this.#scheduleRecheck()
  }

  // One check at a time, and only while down: a healthy store is checked by its own lookups.
  #scheduleRecheck (): void {
    if (!this.#monitoring || this.#closed !== undefined || this.#checking || this.#recheck !== undefined) return
    if (this.#status.state !== 'down') return
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined
      void this.#check()
    }, this.#recheckMs)
    // A check pending must not keep an exiting process alive.
    this.#recheck.unref()
  }

  #setStatus (status: DatabaseStatus): void {
    const previous = this.#status
    this.#status = status
    const same = previous.state === status.state &&
      (status.state !== 'down' || (previous.state === 'down' && previous.failure.summary === status.failure.summary))
    if (!same) this.#onStatus?.(status, previous)
  }

  async #run<T> (work: () => Promise<T>): Promise<T> {
    this.#queryCount++
    try {
      const result = await work()
      this.#setStatus({ state: 'up' })
      return result
    } catch (error) {
      this.#failures++
      const failure = classifyDatabaseError(error, this.#secrets, this.#setting)
      this.#setStatus({ state: 'down', failure })
      this.#scheduleRecheck()
      throw databaseUnavailable(`${failure.summary}; ${failure.hint}`, error)
    }
  }
}
