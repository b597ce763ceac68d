// Watches Oro's oro_sync_websocket_server_state table (Oro 6.0.10+, 6.1.7+, 7.x): saving the
// application URL in System Configuration bumps the `system_config` row's updated_at, and Oro's
// own server polls it every second and stops itself (supervisord starts it again, every page
// shows "connection lost"). The gateway polls the same row, one primary-key SELECT a second over
// one kept connection, and applies the change instead (onChange: origins and routing re-read),
// dropping no session. Without the table (an older Oro) it looks again every minute.
import type { DatabaseConnection } from '../auth/database-connection.js'
import type { Log } from '../logger.js'

export const STATE_TABLE = 'oro_sync_websocket_server_state'
export const SYSTEM_CONFIG_STATE = 'system_config'
/** Between polls while the table is there: every second, as Oro's own server polls it. */
export const STATE_POLL_INTERVAL_MS = 1000

/** Runs `run` after `delayMs`; returns what cancels it. The default is an unref'd setTimeout. */
export type Schedule = (run: () => void, delayMs: number) => () => void

const timerSchedule: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs)
  timer.unref()
  return () => { clearTimeout(timer) }
}

export interface ServerStateWatchOptions {
  /** Opens a connection to Oro's database (kept while it works). */
  connect: () => Promise<DatabaseConnection>
  /** The table, quoted for the driver (schema-qualified when Oro's tables are in one). */
  table: string
  /** Applies a change; awaited before the next poll. */
  onChange: (updatedAt: string) => Promise<void>
  log: Pick<Log, 'info' | 'notice' | 'warn'>
  /** The variable Oro's database comes from (ORO_DB_DSN or ORO_DB_URL), named in messages. */
  setting?: string
  /** Between polls while the table is there; Oro's server: 1 s (STATE_POLL_INTERVAL_MS). */
  intervalMs?: number
  /** Between looks for the table while it is absent or unreadable, and after a failure. */
  retryMs?: number
  /** Schedules the next poll (tests count polls with their own). */
  schedule?: Schedule
}

type Phase = 'starting' | 'watching' | 'absent' | 'failing' | 'stopped'

// Undefined table / schema (PostgreSQL), no such table (MySQL/MariaDB).
const ABSENT = new Set(['42P01', '3F000', 'ER_NO_SUCH_TABLE'])
// Not allowed to read it.
const DENIED = new Set(['42501', 'ER_TABLEACCESS_DENIED_ERROR'])

export class ServerStateWatch {
  readonly #options: Required<ServerStateWatchOptions>
  readonly #sql: string
  #connection: DatabaseConnection | undefined
  #phase: Phase = 'starting'
  // Apart from the phase: a read under way when stop() is called sets the phase as it ends.
  #stopped = false
  /** The row's value when last read; undefined before the first read. */
  #seen: string | undefined
  #cancel: (() => void) | undefined
  #polls = 0
  #appliedAtPoll: number | undefined
  #running: Promise<void> | undefined
  #changes = 0
  #waiters: Array<() => void> = []
  #first: Promise<void> | undefined
  #firstDone: () => void = () => {}
  readonly #firstRead = new Promise<void>((resolve) => { this.#firstDone = resolve })

  constructor (options: ServerStateWatchOptions) {
    this.#options = { intervalMs: STATE_POLL_INTERVAL_MS, retryMs: 60_000, setting: 'ORO_DB_URL', schedule: timerSchedule, ...options }
    this.#sql = `SELECT updated_at FROM ${options.table} WHERE id = '${SYSTEM_CONFIG_STATE}'`
  }

  /** watching: the table is polled; absent: Oro has no such table (before 6.0.10). */
  get phase (): Phase { return this.#stopped ? 'stopped' : this.#phase }
  /** Changes applied so far. */
  get changes (): number { return this.#changes }
  /** Polls begun so far (the first read is poll 1). */
  get polls (): number { return this.#polls }
  /** The poll that applied the last change (its number, as `polls` counts), undefined before one. */
  get appliedAtPoll (): number | undefined { return this.#appliedAtPoll }
  /** Between polls while the table is watched. */
  get intervalMs (): number { return this.#options.intervalMs }

  /** Resolves when the next change has been applied (tests, the status page). */
  async nextChange (): Promise<void> {
    await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }

  /** The first read (the baseline), then polls on their own timer. */
  async start (): Promise<void> {
    this.#first ??= this.#tick().finally(() => { this.#firstDone() })
    await this.#first
  }

  /** Resolves once the first read (the baseline) has ended, whatever its outcome. */
  async started (): Promise<void> {
    await this.#firstRead
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#cancel?.()
    this.#cancel = undefined
    await this.#running
    await this.#connection?.close()
    this.#connection = undefined
  }

  async #tick (): Promise<void> {
    this.#running = this.#poll().finally(() => { this.#running = undefined })
    await this.#running
    if (this.#stopped) return
    const delay = this.#phase === 'watching' ? this.#options.intervalMs : this.#phase === 'failing' ? Math.min(5000, this.#options.retryMs) : this.#options.retryMs
    this.#cancel = this.#options.schedule(() => { void this.#tick() }, delay)
  }

  async #poll (): Promise<void> {
    const { log, setting } = this.#options
    const poll = ++this.#polls
    let value: string
    try {
      this.#connection ??= await this.#options.connect()
      const rows = await this.#connection.query(this.#sql)
      value = valueOf(rows[0]?.updated_at)
    } catch (err) {
      const code = String((err as { code?: unknown }).code)
      // A connection that failed once is not trusted again: the next poll opens a new one.
      await this.#connection?.close().catch(() => {})
      this.#connection = undefined
      if (ABSENT.has(code) || DENIED.has(code)) {
        if (this.#phase !== 'absent') {
          log.info({ table: STATE_TABLE, code }, ABSENT.has(code)
            ? `${STATE_TABLE} is not in Oro's database (Oro before 6.0.10 / 6.1.7): allowed origins are re-read every ORO_WEBSOCKET_ORIGINS_REFRESH seconds; looking for the table again every ${this.#options.retryMs / 1000} s`
            : `${STATE_TABLE} cannot be read (grant SELECT on it to the user of ${setting}): allowed origins are re-read every ORO_WEBSOCKET_ORIGINS_REFRESH seconds`)
        }
        this.#phase = 'absent'
        return
      }
      if (this.#phase !== 'failing') {
        log.warn({ table: STATE_TABLE, err: (err as Error).message }, `${STATE_TABLE} could not be read from ${setting}; a change of Oro's system configuration is applied once it can be read again`)
      }
      this.#phase = 'failing'
      return
    }
    const previous = this.#seen
    const wasWatching = this.#phase === 'watching'
    this.#seen = value
    if (this.#phase !== 'watching') {
      log.info({ table: STATE_TABLE, updatedAt: value }, `watching ${STATE_TABLE} every ${this.#options.intervalMs / 1000} s: a save of Oro's system configuration is applied at once, without a restart`)
      this.#phase = 'watching'
    }
    // The first read is the baseline; after an outage, a change made meanwhile still counts.
    if (previous === undefined || previous === value || this.#stopped) return
    log.notice({ table: STATE_TABLE, state: SYSTEM_CONFIG_STATE, updatedAt: value, was: previous, afterOutage: !wasWatching },
      "Oro's system configuration was saved: re-reading the allowed origins and topic routes (no session is dropped)")
    await this.#options.onChange(value)
    this.#appliedAtPoll = poll
    this.#changes++
    for (const resolve of this.#waiters.splice(0)) resolve()
  }
}

function valueOf (updatedAt: unknown): string {
  if (updatedAt === undefined || updatedAt === null) return 'none'
  if (updatedAt instanceof Date) return Number.isNaN(updatedAt.getTime()) ? String(updatedAt) : updatedAt.toISOString()
  return String(updatedAt)
}
