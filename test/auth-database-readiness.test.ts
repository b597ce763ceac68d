// The gateway process with Oro's database refusing its login: /readyz names the reason from the
// start, a logged-in user's upgrade gets a 503 saying why, the log has one error line with the
// driver's message (never the password), and once the operator fixes the database /readyz turns
// 200 by itself, without any client connecting (a readiness-gated load balancer sends none).
import { test, type Test as Tap } from 'tap'
import { startGateway, type Gateway } from './helpers/spawn-gateway.js'
import { connectWamp } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'
import { createMysqlUsers, createPgUsers, needsMysql, needsPostgres, USERS } from './helpers/databases.js'
import { mysqlUrl, mysqlUserWithOtherPassword, pgRoleWithoutLogin, pgUrl, until } from './helpers/database-roles.js'

const postgres = await needsPostgres()
const mariadb = await needsMysql()

const SECRET = 'ThisTokenIsNotSoSecretChangeIt'
const PASSWORD = 'db-pa55@w0rd:/?'
const alice = USERS[0] as { username: string, password: string }

interface Ready { status: number, checks: Record<string, string> }

async function readyz (gw: Gateway): Promise<Ready> {
  const res = await fetch(`${gw.url}/readyz`)
  const body = await res.json() as { checks: Record<string, string> }
  return { status: res.status, checks: body.checks }
}

async function startWith (t: Tap, url: string, table: string): Promise<Gateway> {
  // Default prod log level (warning): what an operator sees without -v.
  return await startGateway({
    args: ['--env=prod'],
    env: { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }
  }, t)
}

async function downThenBack (t: Tap, gw: Gateway, reason: string, fix: () => Promise<void>): Promise<void> {
  await until('the first database check', async () => (await readyz(gw)).checks.database !== 'checking')
  const down = await readyz(gw)
  t.equal(down.status, 503, 'not ready')
  t.equal(down.checks.database, reason, '/readyz names the reason')

  const refused = await connectWamp(`ws://127.0.0.1:${gw.port}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, ...alice }))}`)
    .then(() => undefined, (e: { statusCode?: number, body?: string }) => e)
  t.equal(refused?.statusCode, 503, 'a user ticket that cannot be checked: 503')
  const body = JSON.parse(refused?.body ?? '{}') as { code?: string, message?: string }
  t.equal(body.code, 'GW_ERR_DATABASE_UNAVAILABLE')
  // Any browser reads this body: why the database failed stays in the log and /readyz (issue 18).
  t.notOk(body.message?.includes(reason), `the 503 does not tell a browser why: ${body.message ?? ''}`)
  t.notOk(/ORO_DB_URL|password|user/i.test(body.message ?? ''), 'nor what to change in the configuration')
  t.match(body.message, /retry later/)
  t.ok(gw.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('Authentication failed') && l.msg.includes(reason)) ||
    gw.logLines().some((l) => typeof l.msg === 'string' && l.msg.includes(reason)), 'the log has the reason')

  const errors = gw.logLines().filter((l) => l.level === 'error' && typeof l.msg === 'string' && l.msg.startsWith('Oro\'s database cannot be used'))
  t.equal(errors.length, 1, 'one error line however many checks and lookups failed')
  t.ok(errors[0]?.msg !== undefined && String(errors[0].msg).includes(reason), 'the log line names the reason and what to change')
  t.ok(typeof errors[0]?.error === 'string' && errors[0].error.length > 0, 'and carries the driver\'s message')

  await fix()
  await until('/readyz 200 without traffic', async () => (await readyz(gw)).status === 200)
  t.same((await readyz(gw)).checks.database, 'ok')
  // The line reaches this process through the child's stdout pipe, maybe after the /readyz answer.
  await until('the recovery to be logged', async () => gw.logLines().some((l) => l.level === 'warn' && l.msg === 'Oro\'s database answers again'))
  t.pass('the recovery is logged')
  const back = await connectWamp(`ws://127.0.0.1:${gw.port}/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, ...alice }))}`)
  back.close()
  t.pass('a user connects again')

  const output = gw.stdout() + gw.stderr()
  t.notOk(output.includes(PASSWORD) || output.includes(encodeURIComponent(PASSWORD)), 'the password never appears in the output')
}

test('PostgreSQL refusing the login, then allowing it', postgres, async (t) => {
  const { table } = await createPgUsers(t)
  const { role, allowLogin } = await pgRoleWithoutLogin(t, table, PASSWORD)
  const gw = await startWith(t, pgUrl({ user: role, password: PASSWORD }), table)
  await downThenBack(t, gw, 'login refused (28000)', allowLogin)
})

test('MariaDB with a wrong password, then the right one', mariadb, async (t) => {
  const { table } = await createMysqlUsers(t)
  const { user, setPassword } = await mysqlUserWithOtherPassword(t, table)
  const gw = await startWith(t, mysqlUrl({ user, password: PASSWORD }), table)
  await downThenBack(t, gw, 'login refused (ER_ACCESS_DENIED_ERROR)', async () => { await setPassword(PASSWORD) })
})
