// A wrong ORO_SECRET (issue 16 §6): every ticket fails its digest, and at prod's default level
// (warning) each 401 is silent. When most tickets fail, one warning must say they do not match
// ORO_SECRET and point to the `check` command, aggregated and at most once a minute. Oro's sample
// secret in prod is warned about at start.
import { test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { SecretMismatchWatch, type SecretMismatchReport } from '../src/auth/secret-mismatch.js'

const SECRET = 'the-applications-own-secret'

async function upgrade (gw: TestApp, secret: string, network: number): Promise<number> {
  // Each browser on its own network, through the site's proxy (loopback is trusted).
  const answer = await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(makeTicket({ secret }))}`, { Origin: 'http://localhost', 'X-Forwarded-For': `10.${network}.0.9` })
  answer.destroy()
  return answer.status
}

const mismatchLines = (gw: TestApp): Array<Record<string, unknown>> => gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Most tickets fail their digest check'))

test('most tickets failing their digest: one warning naming ORO_SECRET and the check command, once a minute', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET }, 'prod', 'warn')
  t.equal(await upgrade(gw, SECRET, 1), 101, 'a right ticket')
  for (let n = 2; n <= 7; n++) t.equal(await upgrade(gw, 'ThisTokenIsNotSoSecretChangeIt', n), 401, `network ${n}: the Oro application signs with another secret`)
  const lines = mismatchLines(gw)
  t.equal(lines.length, 1, 'said once')
  t.match(lines[0], { level: 'warn', setting: 'ORO_SECRET', failed: 5, accepted: 1, anonymous: 5, networks: 5 }, 'at the fifth failure, with the counts')
  t.match(lines[0]?.msg, /5 of 6 in the last minute .* from 5 client networks: they do not match this ORO_SECRET\. .*`oro-websocket-gateway check --app-root DIR`/)
  for (let n = 8; n <= 12; n++) await upgrade(gw, 'another-secret', n)
  t.equal(mismatchLines(gw).length, 1, 'more failures within the minute add no line')
})

test('a few bad tickets among good ones say nothing; the sample secret in prod is warned about at start', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: 'ThisTokenIsNotSoSecretChangeIt' }, 'prod', 'warn')
  const sample = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('ORO_SECRET is Oro\'s sample secret'))
  t.equal(sample.length, 1, 'one warning at start')
  t.match(sample[0], { level: 'warn', setting: 'ORO_SECRET', msg: /anyone can make tickets this gateway accepts; give the Oro application a secret of its own/ })
  for (let n = 1; n <= 12; n++) t.equal(await upgrade(gw, 'ThisTokenIsNotSoSecretChangeIt', n), 101)
  for (let n = 13; n <= 18; n++) t.equal(await upgrade(gw, 'forged', n), 401)
  t.equal(mismatchLines(gw).length, 0, '6 failed of 18: not most')

  const dev = await startApp(t, { ORO_SECRET: 'ThisTokenIsNotSoSecretChangeIt' }, 'dev', 'debug')
  t.notOk(dev.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('ORO_SECRET is Oro\'s sample secret')), 'not in development')
})

test('the counting: per-minute windows, at least five failures, more failed than accepted, once per window', async (t) => {
  let now = 0
  const reports: SecretMismatchReport[] = []
  const watch = new SecretMismatchWatch({ now: () => now, report: (counts) => { reports.push(counts) } })
  for (let i = 0; i < 4; i++) watch.failed('10.0.0.0/24', true)
  t.equal(reports.length, 0, 'four are not enough')
  watch.failed('10.0.0.0/24', false)
  t.same(reports, [{ failed: 5, accepted: 0, networks: 1, anonymous: 4 }])
  watch.failed('10.0.1.0/24', true)
  t.equal(reports.length, 1, 'once per window')
  now = 60_000
  for (let i = 0; i < 6; i++) watch.accepted()
  for (let i = 0; i < 6; i++) watch.failed(`10.0.${i}.0/24`, true)
  t.equal(reports.length, 1, 'a new window: 6 failed, 6 accepted is not most')
  watch.failed('10.0.9.0/24', true)
  t.same(reports[1], { failed: 7, accepted: 6, networks: 7, anonymous: 7 })
})
