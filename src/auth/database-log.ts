// The log lines of Oro's database as the user store sees it: one line when it goes down (or down
// for another reason), with the driver's message (password masked) and what to change, and one
// when it answers again. Lookups failing meanwhile are not repeated here.
import type { Log } from '../logger.js'
import type { DatabaseStatus } from './user-store.js'

export function logDatabaseStatus (log: Log, database: string): (status: DatabaseStatus, previous: DatabaseStatus) => void {
  return (status, previous) => {
    if (status.state === 'down') {
      const { problem, code, summary, hint, detail } = status.failure
      log.error({ database, problem, code, error: detail }, `Oro's database cannot be used: ${summary}; ${hint}`)
    } else if (status.state === 'up') {
      if (previous.state === 'down') log.warn({ database }, 'Oro\'s database answers again')
      else log.info({ database }, 'Oro\'s database answers (user table readable)')
    }
  }
}
