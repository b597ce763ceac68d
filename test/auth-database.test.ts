// ORO_DB_URL as Oro writes it, and user lookups against real PostgreSQL and MariaDB, including
// a database that goes away mid-run (a TCP proxy cut and restored) and comes back.
import { test, type Test as Tap } from 'tap'
import { createServer } from 'node:net'
import pg from 'pg'
import { parseDatabaseUrl } from '../src/auth/database-url.js'
import { createUserStore, type DatabaseUserStore } from '../src/auth/user-store.js'
import { ConfigError } from '../src/config/errors.js'
import { createMysqlUsers, createPgUsers, needsMysql, needsPostgres, startTcpProxy } from './helpers/databases.js'
import { mysqlUrl, mysqlUserWithOtherPassword, pgRoleWithoutLogin, pgUrl, uniqueName, until } from './helpers/database-roles.js'

// Probed before any test runs: a busy event loop later could time the probe out.
const postgres = await needsPostgres()
const mariadb = await needsMysql()

const parsed: Array<[string, Record<string, unknown>]> = [
  ['postgres://user:pass@127.0.0.1:5432/oro_db?sslmode=disable&charset=utf8&serverVersion=13.7',
    { driver: 'pg', host: '127.0.0.1', port: 5432, user: 'user', password: 'pass', database: 'oro_db', ssl: false, params: { sslmode: 'disable', charset: 'utf8', serverVersion: '13.7' }, display: 'postgres://user:***@127.0.0.1:5432/oro_db' }],
  ['postgresql://oro@db.example.com/oro', { driver: 'pg', host: 'db.example.com', port: 5432, user: 'oro', password: '', database: 'oro', ssl: false }],
  ['pgsql://u:p@h:6543/d', { driver: 'pg', host: 'h', port: 6543 }],
  ['pdo-pgsql://u:p@h/d', { driver: 'pg', port: 5432 }],
  ['postgres://u:p%40ss%3Aw%2Fo%23rd@h/d', { password: 'p@ss:w/o#rd' }],
  ['postgres://u%2Bx:p@h/my%20db', { user: 'u+x', database: 'my db' }],
  ['postgres://u:p@[::1]:5433/d', { host: '::1', port: 5433, display: 'postgres://u:***@[::1]:5433/d' }],
  ['postgres://u:p@h/d?sslmode=require', { ssl: { rejectUnauthorized: false } }],
  ['postgres://u:p@h/d?sslmode=verify-full', { ssl: { rejectUnauthorized: true } }],
  ['postgres://u:p@h/d?sslmode=verify-ca', { ssl: { rejectUnauthorized: true } }],
  ['postgres://u:p@h/d?sslmode=prefer', { ssl: false }],
  ['postgres://u:p@/d', { host: 'localhost' }],
  ['mysql://root:secret@127.0.0.1:3306/oro?charset=utf8mb4&serverVersion=mariadb-10.11.2',
    { driver: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: 'secret', database: 'oro', charset: 'utf8mb4', params: { serverVersion: 'mariadb-10.11.2' } }],
  ['mysql2://u:p@h/d', { driver: 'mysql', port: 3306 }],
  ['pdo-mysql://u:p@h:3307/d', { driver: 'mysql', port: 3307 }],
  ['mariadb://u@h/d', { driver: 'mysql', password: '' }],
  ['MySQL://u:p@h/d?unix_socket=/run/mysqld/mysqld.sock', { driver: 'mysql', socketPath: '/run/mysqld/mysqld.sock' }]
]

test('ORO_DB_URL in every form Doctrine accepts', async (t) => {
  for (const [url, expected] of parsed) t.match(parseDatabaseUrl(url), expected, url)
  t.notOk('charset' in parseDatabaseUrl('mysql://u:p@h/d'), 'no charset unless given')
})

test('a bad ORO_DB_URL is a ConfigError that never shows the password', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['sqlite://u:hunter2@h/d', /scheme "sqlite", which the gateway cannot use/],
    ['oracle://u:hunter2@h/d', /scheme "oracle"/],
    ['hunter2', /is not a URL/],
    ['postgres://u:hunter2@h', /needs the database name/],
    ['postgres://u:hunter2@h/', /needs the database name/],
    ['postgres://u:hunter2@h:99999/d', /port 99999 outside/],
    ['postgres://u:hunter2@h:0/d', /port 0 outside/],
    ['postgres://u:hunter2%zz@h/d', /malformed percent-encoding in its password/],
    ['postgres://u:hunter2@h/d?sslmode=sometimes', /sslmode "sometimes"/]
  ]
  for (const [url, message] of bad) {
    const error = (() => { try { parseDatabaseUrl(url) } catch (e) { return e } })()
    t.ok(error instanceof ConfigError, url)
    t.match(error, { code: 'GW_ERR_CONFIG_INVALID', setting: 'ORO_DB_URL', message }, url)
    t.notMatch((error as Error).message, /hunter2/, `${url}: no password in the message`)
    t.match((error as ConfigError).line(), /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_DB_URL .*; for example postgres:\/\//)
  }
  t.throws(() => createUserStore('mysql://root@127.0.0.1/test?charset=klingon'), { code: 'GW_ERR_CONFIG_INVALID', message: /charset/ }, 'mysql2 refuses the charset')
  t.throws(() => createUserStore('postgres://u@h/d', { table: 'oro_user; DROP TABLE x' }), /must be an identifier/)
})

async function lookups (t: Tap, store: DatabaseUserStore): Promise<void> {
  t.match(await store.findUser('alice'), { id: 7, username: 'alice', email: 'alice@example.com', password: /^\$2y\$13\$/, enabled: true })
  t.match(await store.findUser('carol'), { id: 9, enabled: false }, 'disabled user')
  t.match(await store.findUser('DAVE.SMITH@example.COM'), { id: 10, username: 'dave' }, 'email login, any case')
  t.match(await store.findUser('semi;colon'), { id: 11 })
  t.equal(await store.findUser('mallory'), null, 'unknown user')
  t.equal(await store.findUser('nobody@example.com'), null, 'unknown email')
  t.equal(typeof (await store.findUser('bob'))?.enabled, 'boolean')
  t.ok(store.healthy)
  await store.ping()

  const queries = store.stats.queries
  await store.findUser('alice')
  await store.findUser('mallory')
  t.equal(store.stats.queries, queries, 'rows and absences are cached')
  const many = await Promise.all(Array.from({ length: 20 }, async () => await store.findUser('dave')))
  t.ok(many.every((u) => u?.id === 10))
  t.equal(store.stats.queries, queries + 1, '20 concurrent lookups of one login: one query')
  t.equal(store.stats.shared, 19)
}

test('lookups in PostgreSQL', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const store = createUserStore(url, { table })
  t.teardown(() => store.close())
  await lookups(t, store)
  t.equal(await store.findUser('ALICE'), null, 'usernames are case-sensitive in PostgreSQL, as in Oro')
})

test('lookups in MariaDB', mariadb, async (t) => {
  const { url, table } = await createMysqlUsers(t)
  const store = createUserStore(url, { table })
  t.teardown(() => store.close())
  await lookups(t, store)
})

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 1
}

test('a database that cannot be reached is a 503, not a 401', async (t) => {
  const port = await closedPort()
  for (const scheme of ['postgres', 'mysql']) {
    const store = createUserStore(`${scheme}://u:hunter2@127.0.0.1:${port}/test`)
    t.teardown(() => store.close())
    t.ok(store.healthy, `${scheme}: healthy until a query says otherwise`)
    const error = await store.findUser('alice').then(() => undefined, (e: unknown) => e)
    t.match(error, { code: 'GW_ERR_DATABASE_UNAVAILABLE', statusCode: 503, detail: /unreachable \(ECONNREFUSED\); check the host and port in ORO_DB_URL/ }, scheme)
    t.notMatch((error as Error).message, /ECONNREFUSED|ORO_DB_URL/, `${scheme}: the message (an HTTP body) has no detail`)
    t.match((error as Error).cause, { code: 'ECONNREFUSED' }, `${scheme}: the cause is kept for the log`)
    t.notMatch(String((error as Error).message), /hunter2/)
    t.notOk(store.healthy, `${scheme}: unhealthy`)
    t.equal(store.stats.failures, 1)
    await t.rejects(store.ping(), { code: 'GW_ERR_DATABASE_UNAVAILABLE' })
  }
})

test('a missing user table is a 503 too (misconfiguration, not a bad ticket)', postgres, async (t) => {
  const { url } = await createPgUsers(t)
  const store = createUserStore(url, { table: 'no_such_schema.oro_user' })
  t.teardown(() => store.close())
  await t.rejects(store.findUser('alice'), { code: 'GW_ERR_DATABASE_UNAVAILABLE', statusCode: 503 })
})

async function outage (t: Tap, store: DatabaseUserStore, proxy: Awaited<ReturnType<typeof startTcpProxy>>): Promise<void> {
  t.match(await store.findUser('alice'), { id: 7 }, 'before the outage')
  t.ok(store.healthy)

  await proxy.cut()
  for (const login of ['alice', 'bob']) {
    await t.rejects(store.findUser(login), { code: 'GW_ERR_DATABASE_UNAVAILABLE', statusCode: 503 }, `${login} during the outage`)
  }
  t.notOk(store.healthy, 'unhealthy during the outage')

  await proxy.restore()
  t.match(await store.findUser('alice'), { id: 7 }, 'after the outage, same store')
  t.match(await store.findUser('bob'), { id: 8 })
  t.ok(store.healthy, 'healthy again')
  t.ok(proxy.connections >= 2, 'the store reconnected through the proxy')
}

test('PostgreSQL stops mid-run and comes back: the store recovers without a restart', postgres, async (t) => {
  const { table } = await createPgUsers(t)
  const proxy = await startTcpProxy(Number(new URL(process.env.TEST_PG_URL ?? 'postgres://h:5432').port || 5432))
  t.teardown(() => proxy.close())
  const store = createUserStore(`postgres://postgres@127.0.0.1:${proxy.port}/test`, { table, cacheSeconds: 0 })
  t.teardown(() => store.close())
  await outage(t, store, proxy)
})

test('MariaDB stops mid-run and comes back: the store recovers without a restart', mariadb, async (t) => {
  const { table } = await createMysqlUsers(t)
  const proxy = await startTcpProxy(Number(new URL(process.env.TEST_MYSQL_URL ?? 'mysql://h:3306').port || 3306))
  t.teardown(() => proxy.close())
  // A short query timeout: mysql2 keeps a timer of a query whose connection died (see mysql-users.ts).
  const store = createUserStore(`mysql://root@127.0.0.1:${proxy.port}/test`, { table, cacheSeconds: 0, queryTimeoutMs: 500 })
  t.teardown(() => store.close())
  await outage(t, store, proxy)
})

// Failures told apart: each real failure of each driver gets its own reason, in the 503's message,
// in /readyz's value and in the log (driver message, password masked).

const PASSWORD = 'pw-S3cr3t@:/x'

interface Case { name: string, url: string, table?: string, summary: RegExp }

async function failsWith (t: Tap, { name, url, table, summary }: Case): Promise<void> {
  const statuses: string[] = []
  const store = createUserStore(url, { ...(table !== undefined ? { table } : {}), onStatus: (status) => { statuses.push(status.state) } })
  t.teardown(() => store.close())
  t.equal(store.readiness(), 'checking', `${name}: not ready before the first answer`)
  const error = await store.findUser('alice').then(() => undefined, (e: unknown) => e) as Error & { code?: string, statusCode?: number }
  t.match(error, { code: 'GW_ERR_DATABASE_UNAVAILABLE', statusCode: 503 }, name)
  t.match((error as Error & { detail?: string }).detail, summary, `${name}: the error's detail (for the log) names the reason`)
  t.notMatch(error.message, summary, `${name}: the 503's message (any browser reads it) does not`)
  t.match(store.readiness(), new RegExp(`^${summary.source}$`), `${name}: so does /readyz's value, alone`)
  t.equal(store.status.state, 'down')
  const failure = store.status.state === 'down' ? store.status.failure : undefined
  t.ok(failure !== undefined && failure.detail.length > 0, `${name}: the driver's message is kept for the log`)
  for (const text of [error.message, (error as Error & { detail?: string }).detail ?? '', store.readiness(), failure?.detail ?? '', failure?.hint ?? '']) {
    t.notOk(text.includes(PASSWORD) || text.includes(encodeURIComponent(PASSWORD)), `${name}: no password in "${text}"`)
  }
  t.same(statuses, ['down'], `${name}: told once`)
  t.match(await store.ping().then(() => ({}), (e: unknown) => e), { detail: summary })
  t.same(statuses, ['down'], `${name}: the same failure again is not a new status`)
}

async function pgSsl (): Promise<string> {
  const client = new pg.Client({ connectionString: pgUrl() })
  await client.connect()
  try {
    return String((await client.query<{ ssl: string }>('SHOW ssl')).rows[0]?.ssl)
  } finally {
    await client.end()
  }
}

test('PostgreSQL: login refused, missing database, unreachable and a wrong table each name their reason', postgres, async (t) => {
  const { table } = await createPgUsers(t)
  const { role } = await pgRoleWithoutLogin(t, table, PASSWORD)
  await failsWith(t, { name: 'role that may not log in', url: pgUrl({ user: role, password: PASSWORD }), table, summary: /login refused \(28000\)/ })
  await failsWith(t, { name: 'no such role', url: pgUrl({ user: uniqueName('nobody'), password: PASSWORD }), table, summary: /login refused \(28000\)/ })
  await failsWith(t, { name: 'missing database', url: pgUrl({ password: PASSWORD, database: uniqueName('no_db') }), table, summary: /database does not exist \(3D000\)/ })
  await failsWith(t, { name: 'closed port', url: pgUrl({ password: PASSWORD, port: await closedPort() }), table, summary: /unreachable \(ECONNREFUSED\)/ })
  await failsWith(t, { name: 'wrong table', url: pgUrl({ password: PASSWORD }), table: `${table.split('.')[0] as string}.no_users`, summary: /user table unusable \(42P01\)/ })
  await failsWith(t, { name: 'no such host', url: pgUrl({ password: PASSWORD, host: 'gw-no-such-host.invalid' }), table, summary: /unreachable \((ENOTFOUND|EAI_AGAIN)\)/ })
  const ssl = await pgSsl()
  if (ssl === 'off') await failsWith(t, { name: 'sslmode=require, server without TLS', url: `${pgUrl({ password: PASSWORD })}?sslmode=require`, table, summary: /TLS failed \(no TLS on the server\)/ })
})

test('MariaDB: wrong password, missing database, unreachable and a wrong table each name their reason', mariadb, async (t) => {
  const { table } = await createMysqlUsers(t)
  await failsWith(t, { name: 'wrong password', url: mysqlUrl({ password: PASSWORD }), table, summary: /login refused \(ER_ACCESS_DENIED_ERROR\)/ })
  await failsWith(t, { name: 'missing database', url: mysqlUrl({ database: uniqueName('no_db') }), table, summary: /database does not exist \(ER_BAD_DB_ERROR\)/ })
  await failsWith(t, { name: 'closed port', url: mysqlUrl({ password: PASSWORD, port: await closedPort() }), table, summary: /unreachable \(ECONNREFUSED\)/ })
  await failsWith(t, { name: 'wrong table', url: mysqlUrl({}), table: 'no_users_here', summary: /user table unusable \(ER_NO_SUCH_TABLE\)/ })
})

test('PostgreSQL: a monitored store comes back by itself, without any lookup', postgres, async (t) => {
  const { table } = await createPgUsers(t)
  const { role, allowLogin } = await pgRoleWithoutLogin(t, table, PASSWORD)
  const statuses: string[] = []
  const store = createUserStore(pgUrl({ user: role, password: PASSWORD }), { table, recheckMs: 100, onStatus: (status) => { statuses.push(status.state === 'down' ? status.failure.summary : status.state) } })
  t.teardown(() => store.close())
  store.monitor()
  await until('the first check', () => store.status.state !== 'unknown')
  t.match(store.readiness(), /^login refused/, 'checked at start: down, with the reason')
  await allowLogin()
  await until('recovery', () => store.readiness() === 'ok')
  t.same(statuses, ['login refused (28000)', 'up'], 'one line down, one line up')
  const queries = store.stats.queries
  // A witness that is down, on the same recheck interval: once it has checked three more times,
  // the store that is up would have been checked too, were it checked in the background.
  const witness = await downWitness(t, 100)
  t.equal(store.stats.queries, queries, 'a store that is up is not checked in the background')
  t.ok(witness >= 3)
  t.match(await store.findUser('alice'), { id: 7 })
})

test('MariaDB: a monitored store comes back when its password is set back', mariadb, async (t) => {
  const { table } = await createMysqlUsers(t)
  const { user, setPassword } = await mysqlUserWithOtherPassword(t, table)
  const store = createUserStore(mysqlUrl({ user, password: PASSWORD }), { table, recheckMs: 100 })
  t.teardown(() => store.close())
  store.monitor()
  await until('the first check', () => store.status.state !== 'unknown')
  t.match(store.readiness(), /^login refused \(ER_ACCESS_DENIED_ERROR\)$/)
  await setPassword(PASSWORD)
  await until('recovery', () => store.readiness() === 'ok')
  t.match(await store.findUser('alice'), { id: 7 })
})

test('a store that is down checks again in the background until close()', async (t) => {
  const port = await closedPort()
  const store = createUserStore(`postgres://u:hunter2@127.0.0.1:${port}/test`, { recheckMs: 50 })
  store.monitor()
  await until('the first check', () => store.status.state === 'down')
  const before = store.stats.queries
  await until('a few rechecks', () => store.stats.queries >= before + 2)
  await store.close()
  const after = store.stats.queries
  await downWitness(t, 50)
  t.ok(store.stats.queries <= after + 1, 'no check after close (one may have been in flight)')
})

/** A store that is down rechecking every recheckMs: resolves once it checked three more times. */
async function downWitness (t: Tap, recheckMs: number): Promise<number> {
  const witness = createUserStore(`postgres://u:hunter2@127.0.0.1:${await closedPort()}/test`, { recheckMs })
  t.teardown(() => witness.close())
  witness.monitor()
  await until('the witness\'s first check', () => witness.status.state === 'down')
  const start = witness.stats.queries
  await until('three rechecks of the witness', () => witness.stats.queries >= start + 3)
  return witness.stats.queries - start
}
