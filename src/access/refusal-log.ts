// Log lines for refused upgrades, which anyone can cause: each kind of line (its key) is written
// at most once per interval, carrying `repeated` = how many of the same kind were left out since
// the last one. Callers clip client-controlled fields (log-throttle.ts `clip`) before they get here.
import { LogThrottle, type LogThrottleOptions } from '../log-throttle.js'
import type { Log } from '../logger.js'

export type RefusalLevel = 'info' | 'notice' | 'warn'

export class RefusalLog {
  readonly #log: Pick<Log, RefusalLevel>
  readonly #throttle: LogThrottle

  constructor (log: Pick<Log, RefusalLevel>, options: LogThrottleOptions = {}) {
    this.#log = log
    this.#throttle = new LogThrottle(options)
  }

  /**
   * Writes the line unless one of the same key was written within the interval. The key is the
   * kind of line (the gateway's word), a space, then what it is about (an origin, a network):
   * the kind is the throttle's category, so one kind's flood never silences another kind.
   */
  write (level: RefusalLevel, key: string, fields: Record<string, unknown>, message: string): void {
    const space = key.indexOf(' ')
    const left = space === -1 ? this.#throttle.take(key) : this.#throttle.take(key.slice(0, space), key.slice(space + 1))
    if (left < 0) return
    this.#log[level](left > 0 ? { ...fields, repeated: left } : fields, message)
  }
}
