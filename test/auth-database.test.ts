// ORO_DB_URL as Oro writes it, and user lookups against real PostgreSQL and MariaDB, including
// a database that goes away mid-run (a TCP proxy cut and restored) and comes back.
import { test, type Test as Tap } from 'tap'
import { createServer } from 'node:net'
import { parseDatabaseUrl } from '../src/auth/database-url.js'
import { createUserStore, type DatabaseUserStore } from '../src/auth/user-store.js'
import { ConfigError } from '../src/config/errors.js'
import { createMysqlUsers, createPgUsers, needsMysql, needsPostgres, startTcpProxy } from './helpers/databases.js'

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
    t.match(error, { code: 'GW_ERR_DATABASE_UNAVAILABLE', statusCode: 503, message: /check ORO_DB_URL/ }, scheme)
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
