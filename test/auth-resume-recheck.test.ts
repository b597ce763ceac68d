// The digest check of sessions resumed by cookie (src/auth/resume-recheck.ts) with a real
// Admission and verifications that pass, fail, cannot run or take too long.
import { test } from 'tap'
import { Admission } from '../src/auth/admission.js'
import { MAX_UNVERIFIED_PER_CHAIN, ResumeRechecks } from '../src/auth/resume-recheck.js'

const gate = (): Admission => new Admission({ maxWaiting: 100, maxWaitSeconds: 60, maxPendingPerSuspect: 16, failuresPerMinute: 30, concurrency: 4, now: () => 0 })
const who = { network: '203.0.113.0/24', aggregate: '203.0.0.0/16', username: 'alice' }
const statusError = (statusCode: number, code: string): Error => Object.assign(new Error(code), { statusCode, code })

test('a good ticket passes; a forged one revokes the chain and counts as a failure of the network and user', async (t) => {
  const admission = gate()
  const revoked: Array<string | undefined> = []
  let answer: () => Promise<void> = async () => {}
  const rechecks = new ResumeRechecks({ admission, verify: async () => { await answer() }, revoke: (header) => { revoked.push(header) }, timeoutMs: 60_000 })
  t.equal(await rechecks.check({ ticket: 't1', cookieHeader: 'c1', chain: 'A', who }), 'ok')
  answer = async () => { throw statusError(401, 'GW_ERR_TICKET_INVALID') }
  t.equal(await rechecks.check({ ticket: 't2', cookieHeader: 'c2', chain: 'A', who }), 'forged')
  t.same(revoked, ['c2'], 'the chain of the cookie presented is revoked')
  t.match(await admission.enter({ ...who }), { admitted: true, lane: 'suspect' }, 'the failure counts for that network and user')
  t.same(rechecks.stats, { started: 2, failed: 1, late: 0, unverified: 0 })
})

test('a check that cannot run (database down, shutting down) is not a pass', async (t) => {
  const revoked: Array<string | undefined> = []
  for (const error of [statusError(503, 'GW_ERR_DATABASE_UNAVAILABLE'), statusError(503, 'GW_ERR_SHUTTING_DOWN'), new Error('bug')]) {
    const rechecks = new ResumeRechecks({ admission: gate(), verify: async () => { throw error }, revoke: (h) => { revoked.push(h) }, timeoutMs: 60_000 })
    t.equal(await rechecks.check({ ticket: 't', cookieHeader: 'c', chain: 'A', who }), 'unverified', (error as { code?: string }).code ?? 'an error')
  }
  t.same(revoked, [], 'nothing revoked: nothing was proven forged')
  const full = new Admission({ maxWaiting: 1, maxWaitSeconds: 60, maxPendingPerSuspect: 16, failuresPerMinute: 30, concurrency: 1, now: () => 0 })
  const held = await full.enter({ network: 'x' })
  const refused = new ResumeRechecks({ admission: full, verify: async () => {}, revoke: () => {}, timeoutMs: 60_000 })
  t.equal(await refused.check({ ticket: 't', cookieHeader: 'c', chain: 'A', who }), 'unverified', 'refused by admission (node full)')
  if (held.admitted) held.release('ok')
})

test('past the deadline the session is unverified; a forged ticket found later still revokes the chain', async (t) => {
  const revoked: Array<string | undefined> = []
  let fail: (error: Error) => void = () => {}
  const verification = new Promise<void>((_resolve, reject) => { fail = reject })
  const rechecks = new ResumeRechecks({ admission: gate(), verify: async () => { await verification }, revoke: (h) => { revoked.push(h) }, timeoutMs: 20 })
  t.equal(await rechecks.check({ ticket: 't', cookieHeader: 'late-cookie', chain: 'A', who }), 'unverified')
  t.equal(rechecks.stats.late, 1)
  t.ok(rechecks.mayResume('A'), 'the chain may resume again once the check is over (or too late)')
  fail(statusError(401, 'GW_ERR_TICKET_INVALID'))
  while (revoked.length === 0) await new Promise((resolve) => setImmediate(resolve))
  t.same(revoked, ['late-cookie'])
  t.equal(rechecks.stats.failed, 1)
})

test('at most MAX_UNVERIFIED_PER_CHAIN sessions of one chain wait for their check', async (t) => {
  let pass: () => void = () => {}
  const verification = new Promise<void>((resolve) => { pass = resolve })
  const rechecks = new ResumeRechecks({ admission: gate(), verify: async () => { await verification }, revoke: () => {}, timeoutMs: 60_000 })
  const checks = Array.from({ length: MAX_UNVERIFIED_PER_CHAIN }, async (_, i) => await rechecks.check({ ticket: `t${i}`, cookieHeader: 'c', chain: 'A', who }))
  t.notOk(rechecks.mayResume('A'), `${MAX_UNVERIFIED_PER_CHAIN} waiting: the next tab verifies its ticket in full`)
  t.ok(rechecks.mayResume('B'), 'another chain is not affected')
  pass()
  t.ok((await Promise.all(checks)).every((r) => r === 'ok'))
  t.ok(rechecks.mayResume('A'))
})
