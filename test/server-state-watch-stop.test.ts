// ServerStateWatch.stop() while a read is under way (the first read at start, when the gateway is
// closed at once; or any poll): the read that ends after stop() must not start the watch again.
// Before the fix its outcome overwrote the 'stopped' phase, so it scheduled the next poll, which
// opened a new database connection after stop() had closed the last one, and polled on forever.
import { test } from 'tap'
import { ServerStateWatch } from '../src/access/server-state-watch.js'
import type { DatabaseConnection } from '../src/auth/database-connection.js'

const quiet = { info () {}, notice () {}, warn () {} }

function heldConnection (): { connect: () => Promise<DatabaseConnection>, queried: Promise<void>, answer: (rows: Array<Record<string, unknown>> | Error) => void, stats: { connects: number, closes: number } } {
  const stats = { connects: 0, closes: 0 }
  let queriedResolve: () => void = () => {}
  const queried = new Promise<void>((resolve) => { queriedResolve = resolve })
  let answer: (rows: Array<Record<string, unknown>> | Error) => void = () => {}
  const pending = new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    answer = (rows) => { if (rows instanceof Error) reject(rows); else resolve(rows) }
  })
  return {
    stats,
    queried,
    answer: (rows) => { answer(rows) },
    connect: async () => {
      stats.connects++
      return {
        query: async () => { queriedResolve(); return await pending },
        close: async () => { stats.closes++ }
      }
    }
  }
}

for (const outcome of ['row', 'failure', 'absent'] as const) {
  test(`stop() during a read that then ends with a ${outcome}: the watch stays stopped`, async (t) => {
    const db = heldConnection()
    const watch = new ServerStateWatch({ connect: db.connect, table: 'state', onChange: async () => {}, log: quiet, intervalMs: 1, retryMs: 1 })
    const started = watch.start()
    await db.queried
    const stopped = watch.stop()
    db.answer(outcome === 'row'
      ? [{ updated_at: '2026-12-05 10:00:00' }]
      : Object.assign(new Error(outcome === 'absent' ? 'no such table' : 'connection lost'), { code: outcome === 'absent' ? '42P01' : 'ECONNRESET' }))
    await stopped
    await started
    t.equal(watch.phase, 'stopped', 'the read that ended after stop() does not revive the watch')
    t.equal(db.stats.closes, db.stats.connects, 'every connection it opened is closed')
  })
}
