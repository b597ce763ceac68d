// Issue 16 §5: after a save of Oro's System Configuration (the system_config row bumped) the new
// origin must be accepted "within 2 s": the watch polls the row every second, like Oro's own
// server, and applies a change on the first poll that reads it. Counted in polls, not measured in
// time (a busy CI machine stretches any clock): the polls are run by a scheduler of the test's,
// which records every delay the watch asks for.
import { test } from 'tap'
import { ServerStateWatch, STATE_POLL_INTERVAL_MS, type Schedule } from '../src/access/server-state-watch.js'
import type { DatabaseConnection } from '../src/auth/database-connection.js'

const quiet = { info () {}, notice () {}, warn () {} }

/** A scheduler that runs nothing by itself: the test runs the next poll with step(). */
function manualSchedule (): { schedule: Schedule, delays: number[], step: () => Promise<void>, pending: () => boolean } {
  const delays: number[] = []
  let next: (() => void) | undefined
  return {
    delays,
    pending: () => next !== undefined,
    schedule: (run, delayMs) => {
      delays.push(delayMs)
      next = run
      return () => { next = undefined }
    },
    step: async () => {
      const run = next
      if (run === undefined) throw new Error('no poll scheduled')
      next = undefined
      run()
      // The poll is a few awaits long (query, onChange): wait until it has scheduled the next one.
      for (let i = 0; i < 1000 && next === undefined; i++) await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}

test('the poll interval is 1 s, as Oro\'s server polls the row, by default', async (t) => {
  t.equal(STATE_POLL_INTERVAL_MS, 1000)
  const watch = new ServerStateWatch({ connect: async () => { throw new Error('unused') }, table: 'state', onChange: async () => {}, log: quiet })
  t.equal(watch.intervalMs, 1000, 'what the plugin gets when it sets none')
})

test('a bump of the state row is applied by the first poll after it, and every poll while watching is 1 s after the last', async (t) => {
  let updatedAt = '2026-12-05 09:00:00'
  const applied: string[] = []
  const connection: DatabaseConnection = { query: async () => [{ updated_at: updatedAt }], close: async () => {} }
  const clock = manualSchedule()
  const watch = new ServerStateWatch({ connect: async () => connection, table: 'state', onChange: async (value) => { applied.push(value) }, log: quiet, schedule: clock.schedule })
  await watch.start()
  t.equal(watch.phase, 'watching')
  t.equal(watch.polls, 1, 'the first read: the baseline')
  t.same(applied, [], 'the baseline is not a change')

  for (let i = 0; i < 3; i++) await clock.step()
  t.equal(watch.polls, 4)
  t.same(applied, [], 'nothing changed, nothing applied')

  updatedAt = '2026-12-05 09:05:00' // System Configuration saved
  const bumpPoll = watch.polls
  await clock.step()
  t.same(applied, ['2026-12-05 09:05:00'], 'applied')
  t.equal(watch.appliedAtPoll, bumpPoll + 1, 'by the first poll after the bump')
  t.equal(watch.changes, 1)

  await clock.step()
  t.same(applied, ['2026-12-05 09:05:00'], 'once')
  t.ok(clock.delays.length >= 6)
  t.same(clock.delays, clock.delays.map(() => 1000), 'every next poll 1 s later: a bump is applied within about a second, never 10')
  await watch.stop()
  t.notOk(clock.pending(), 'stop() cancels the next poll')
})

test('its messages name the variable Oro\'s database comes from (ORO_DB_DSN when that is the one in use)', async (t) => {
  const said: string[] = []
  const log = { info (_f: unknown, msg: string) { said.push(msg) }, notice () {}, warn (_f: unknown, msg: string) { said.push(msg) } }
  for (const code of ['42501', 'ECONNRESET']) {
    const watch = new ServerStateWatch({
      connect: async () => { throw Object.assign(new Error('no'), { code }) }, table: 'state', onChange: async () => {}, log, setting: 'ORO_DB_DSN', schedule: () => () => {}
    })
    await watch.start()
    await watch.stop()
  }
  t.match(said, [/grant SELECT on it to the user of ORO_DB_DSN/, /could not be read from ORO_DB_DSN;/])
  t.notOk(said.some((m) => m.includes('ORO_DB_URL')), 'not ORO_DB_URL, which is not the one in use')
})
