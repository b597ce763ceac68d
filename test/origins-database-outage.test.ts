// Oro's database not readable when the gateway starts (it boots after the gateway, issue 16 §6):
// Oro's origins are missing, so a browser of the application URL is refused. The gateway must say
// the real cause (the database, not ORO_WEBSOCKET_ALLOWED_ORIGINS), stay unready meanwhile, and
// read the origins as soon as the database answers, not at the next periodic read (here an hour).
import { test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { needsPostgres, startTcpProxy } from './helpers/databases.js'
import { createOroDatabase } from './helpers/oro-database.js'

const SECRET = 'origins-outage-secret'

async function status (gw: TestApp, origin: string): Promise<number> {
  const answer = await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { Origin: origin, 'X-Forwarded-For': '203.0.113.7' })
  answer.destroy()
  return answer.status
}

async function readyz (gw: TestApp): Promise<{ status: number, checks: Record<string, string> }> {
  const res = await fetch(`${gw.url}/readyz`)
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks }
}

/** Resolves once `check` holds; polls (the condition is in another process or on a timer). */
async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('database down at start: unready, the 403 names the database, origins read as soon as it answers', { ...(await needsPostgres()), timeout: 240_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com/', otherScopeUrl: 'https://user-scope.example.com' })
  const target = new URL(db.url)
  const proxy = await startTcpProxy(Number(target.port || 5432), target.hostname)
  t.teardown(() => proxy.close())
  await proxy.cut()
  target.port = String(proxy.port)
  // prod at its default level (warning): what an operator sees without -v.
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: target.toString(), ORO_WEBSOCKET_ORIGINS_REFRESH: '3600' }, 'prod', 'warn')

  const down = await readyz(gw)
  t.equal(down.status, 503, '/readyz 503 while Oro\'s origins are not loaded')
  t.match(down.checks.origins, /^Oro's allowed origins not loaded: unreachable \(ECONNREFUSED\)$/, 'naming why')
  t.equal(await status(gw, 'https://shop.example.com'), 403, 'the application URL\'s browser is refused meanwhile')
  const refusal = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Client rejected, bad origin'))
  t.match(refusal, { level: 'warn', origin: 'https://shop.example.com', setting: 'ORO_DB_URL', database: 'unreachable (ECONNREFUSED)' })
  t.match(refusal?.msg, /Oro's allowed origins .* are not loaded: its database \(ORO_DB_URL\) cannot be read: unreachable \(ECONNREFUSED\); check the host and port in ORO_DB_URL/)
  t.notMatch(JSON.stringify(refusal), /ORO_WEBSOCKET_ALLOWED_ORIGINS/, 'not the override, which would hide the real problem')
  t.ok(gw.logs.some((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: Oro\'s configuration could not be read from ORO_DB_URL (unreachable')), 'the outage said once at warning')

  const restored = Date.now()
  await proxy.restore()
  // The periodic read is an hour away: only the retry while failing (or the user store seeing the
  // database back) can read it within this deadline, which is generous for a busy machine.
  await until('Oro\'s origins loaded', () => gw.logs.some((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: localhost, 127.0.0.1')), 90_000)
  t.pass(`read ${Date.now() - restored} ms after the database answered again`)
  t.equal(await status(gw, 'https://shop.example.com'), 101, 'the application URL\'s browser is accepted')
  await until('/readyz 200', async () => (await readyz(gw)).status === 200)
  t.equal((await readyz(gw)).checks.origins, 'ok')
})

test('the configuration tables missing (not an Oro database): the defaults stand, ready, said once', { ...(await needsPostgres()), timeout: 60_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com/', otherScopeUrl: 'https://user-scope.example.com' })
  // The tables are in db's database; a schema of the same server without them.
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: db.url, ORO_WEBSOCKET_USER_TABLE: 'information_schema.oro_user' }, 'prod', 'warn')
  t.equal((await readyz(gw)).checks.origins, 'ok', 'waiting would not help: not held unready for it')
  const line = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: Oro\'s configuration tables cannot be read'))
  t.match(line, { level: 'warn', problem: 'table' }, 'said at warning, with what to do')
  t.equal(await status(gw, 'https://shop.example.com'), 403)
  t.match(gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Client rejected, bad origin')), { setting: 'ORO_WEBSOCKET_ALLOWED_ORIGINS=+shop.example.com' },
    'a refusal then suggests the override, a fix for tables that cannot be read')
})
