// Refusals before the upgrade can be caused by anyone, so their log lines must not let anyone fill
// the disk (issue 10): 1,000 upgrades with the same 3 KB Origin and 300 with distinct ones write a
// bounded number of clipped lines, each naming the setting that would allow the origin.
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'

test('a flood of refused origins writes a bounded number of clipped lines', { timeout: 120_000 }, async (t) => {
  const gw = await startApp(t, { ORO_SECRET: 's', ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'prod', 'info')
  const ticket = encodeURIComponent(makeTicket({ secret: 's' }))
  const long = (tag: string): string => `https://${tag}.${'x'.repeat(3000)}.example`
  const statuses: number[] = []
  for (let wave = 0; wave < 13; wave++) {
    const answers = await Promise.all(Array.from({ length: 100 }, async (_, i) =>
      await rawUpgrade(gw.port, `/ws?ticket=${ticket}`, { Origin: wave < 10 ? long('same') : long(`o${wave}-${i}`) })))
    statuses.push(...answers.map((a) => a.status))
  }
  t.ok(statuses.every((s) => s === 403), '1,300 upgrades refused with 403')
  const lines = gw.logs.filter((l) => l.msg === 'Client rejected, bad origin')
  const bytes = lines.reduce((n, l) => n + JSON.stringify(l).length, 0)
  // One line for the repeated origin, one per distinct origin up to the throttle's key limit (200).
  t.ok(lines.length <= 202, `${lines.length} lines for 1,300 refusals`)
  t.ok(bytes < 202 * 700, `${bytes} bytes logged for ${1300 * 3000} bytes of Origin headers`)
  t.ok(lines.every((l) => String(l.origin).length < 260 && l.level === 'warn'), 'every origin clipped, at warning')
  t.ok(lines.every((l) => typeof l.setting === 'string' && String(l.setting).startsWith('ORO_WEBSOCKET_ALLOWED_ORIGINS=+')), 'naming the setting that would allow it')
  t.equal(lines.filter((l) => String(l.origin).startsWith('https://same.')).length, 1, 'the repeated origin: once a minute')
})
