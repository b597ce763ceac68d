// Bad tickets must not starve good ones (issues 10 and 17): one network floods the gateway with
// forged but well-formed tickets while clients from other networks connect. Outcomes only, no
// timing: every good client gets in, the flood is answered 429 after a bounded number of digests,
// and the log holds a bounded number of lines. (The latency figures are measured by
// bench/auth-flood.mjs.) A network that has not failed yet is never refused for its own crowd, so
// the flood's first wave is queued and verified in full; what follows its failures is not.
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { forgedTicket, rawUpgrade, type UpgradeAnswer } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { nginxBinary, startNginx } from './helpers/nginx.js'
import { serviceOptions } from './helpers/services.js'

const SECRET = 'flood-secret'
const PENDING_PER_CLIENT = 16
const FAILURES = 10
const FORGED = 600
const GOOD = 40

test('a flood of forged tickets from one network: good clients from other networks all connect', { timeout: 180_000 }, async (t) => {
  const gw = await startApp(t, {
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'k',
    // Only 127.0.0.1 is a backend: the other loopback addresses play clients on other networks.
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
    ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT: String(PENDING_PER_CLIENT),
    ORO_WEBSOCKET_AUTH_FAILURES: String(FAILURES)
  }, 'prod', 'info')
  const started = Date.now()
  const headers = { Origin: 'http://localhost' }
  const upgrade = async (ticket: string, from: string): Promise<UpgradeAnswer> =>
    await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(ticket)}`, headers, from)

  // The attacker: waves of 100 forged tickets at once from 127.0.1.1 (network 127.0.1.0/24).
  const attack = (async () => {
    const answers: UpgradeAnswer[] = []
    for (let wave = 0; wave < FORGED / 100; wave++) {
      answers.push(...await Promise.all(Array.from({ length: 100 }, async () => await upgrade(forgedTicket(), '127.0.1.1'))))
    }
    return answers
  })()
  // Good clients, each on its own /24, connecting while the waves arrive.
  const goodTickets = Array.from({ length: GOOD }, () => makeTicket({ secret: SECRET }))
  const good = await Promise.all(goodTickets.map(async (ticket, i) => await upgrade(ticket, `127.0.${10 + i}.1`)))
  const forged = await attack
  t.teardown(() => { for (const answer of good) answer.destroy() })

  t.same(good.map((a) => a.status), Array(GOOD).fill(101), 'every good client was upgraded')
  const statuses = new Map<number, number>()
  for (const a of forged) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
  t.same([...statuses.keys()].sort(), [401, 429], `the flood got 401 and 429 only (${JSON.stringify(Object.fromEntries(statuses))})`)
  const limited = forged.filter((a) => a.status === 429)
  t.ok(limited.every((a) => Number(a.headers['retry-after']) >= 1 && (JSON.parse(a.body) as { code: string }).code === 'GW_ERR_AUTH_RATE_LIMITED'),
    '429 GW_ERR_AUTH_RATE_LIMITED with Retry-After')

  // Each forged ticket admitted costs a digest. Admitted are at most the first wave (queued before
  // any of it had failed), the failure budget, the suspect upgrades allowed to wait when it ran
  // out, and what the budget refilled meanwhile.
  const refilled = Math.ceil((Date.now() - started) / 60_000 * FAILURES) + 1
  const stats = gw.app.authStats()
  const attackerDigests = (stats.tickets?.digests ?? Infinity) - GOOD
  t.ok(attackerDigests <= 100 + FAILURES + PENDING_PER_CLIENT + refilled, `digests spent on the flood: ${attackerDigests} of ${FORGED} forged tickets`)
  t.equal(statuses.get(401), attackerDigests, 'each digest spent was a 401; everything else was refused before any work')

  const authLines = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Authentication'))
  t.ok(authLines.length <= 4, `${authLines.length} log lines for ${FORGED} refusals (one per kind and network per minute)`)
})

test('behind nginx every peer is 127.0.0.1, yet each client counts as its own network (X-Forwarded-For)', serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx'), async (t) => {
  const gw = await startApp(t, {
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'k',
    ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT: String(PENDING_PER_CLIENT),
    ORO_WEBSOCKET_AUTH_FAILURES: String(FAILURES),
    // The clients are played by loopback addresses: keep them out of the backend networks (a
    // backend, even through a trusted proxy, is not held to the per-client pending limit).
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32'
  }, 'prod', 'info')
  const nginxPort = await startNginx(t, gw.port, 'slash')
  const headers = { Origin: 'http://localhost' }
  const viaNginx = async (ticket: string, from: string): Promise<UpgradeAnswer> =>
    await rawUpgrade(nginxPort, `/ws?ticket=${encodeURIComponent(ticket)}`, headers, from)
  const started = Date.now()
  const forged: UpgradeAnswer[] = []
  for (let wave = 0; wave < 2; wave++) forged.push(...await Promise.all(Array.from({ length: 100 }, async () => await viaNginx(forgedTicket(), '127.0.1.1'))))
  // Admitted are at most the failure budget, the verifications pending when it ran out, and what
  // the budget refilled while the waves ran (a slow machine takes longer, so more refills).
  const refilled = Math.ceil((Date.now() - started) / 60_000 * FAILURES) + 1
  const statuses: Record<number, number> = {}
  for (const a of forged) statuses[a.status] = (statuses[a.status] ?? 0) + 1
  t.ok((statuses[429] ?? 0) >= 100 - FAILURES - PENDING_PER_CLIENT - refilled, `the flooding client is limited after its first wave (${JSON.stringify(statuses)})`)
  const good = await viaNginx(makeTicket({ secret: SECRET }), '127.0.2.1')
  t.teardown(() => good.destroy())
  t.equal(good.status, 101, 'a client on another network, through the same nginx, is not')
  t.ok(gw.logs.some((l) => l.msg === 'Authentication refused: too many failed tickets (ORO_WEBSOCKET_AUTH_FAILURES)' && l.network === '127.0.1.0/24' && l.address === '127.0.1.1'),
    'the refusal names the client\'s own address and network, not the proxy\'s')
})
