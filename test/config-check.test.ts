// `config --check` connects to what the configuration names and says what it found, against a
// real PostgreSQL (an Oro-like database), MariaDB and redis-server, with a broken case for each;
// and the `ticket` command prints tickets a running gateway accepts.
import { test } from 'tap'
import { cli as runCli, type CliResult, freePort, startGateway } from './helpers/spawn-gateway.js'
import { createMysqlUsers, MYSQL_URL, needsMysql, needsPostgres } from './helpers/databases.js'
import { createOroDatabase } from './helpers/oro-database.js'
import { redisOptions, startRedis } from './helpers/redis.js'
import { connectWamp } from './helpers/wamp-client.js'

const SECRET = 'config-check-secret'

async function cli (args: string[], env: Record<string, string>): Promise<CliResult> {
  return await runCli(args, { ORO_SECRET: SECRET, ...env })
}

const checkLines = (stdout: string): string[] => stdout.split('\n').filter((l) => /^(ok {2}|FAIL) {2}/.test(l))

test('config --check with PostgreSQL (Oro tables) and Redis: what it found', { ...(await needsPostgres()), ...redisOptions(), timeout: 90_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com:8443/admin', otherScopeUrl: 'https://user-scope.example.com' })
  const redis = await startRedis(t)
  const ok = await cli(['config', '--check'], { ORO_DB_URL: db.url, ORO_WEBSOCKET_BROKER_DSN: `redis://127.0.0.1:${redis.port}/0` })
  t.equal(ok.code, 0, `exit 0 ${ok.stderr}`)
  t.match(checkLines(ok.stdout), [
    /^ok +database postgres:\/\/.*\/gw_oro\w*: table oro_user readable, 5 users$/,
    /^ok +application URL: https:\/\/shop\.example\.com:8443\/admin /,
    new RegExp(`^ok +broker redis://127\\.0\\.0\\.1:${redis.port}/0: reachable \\(PING answered PONG\\)$`)
  ])
  const json = JSON.parse((await cli(['config', '--check', '--json'], { ORO_DB_URL: db.url })).stdout) as { check: Array<{ ok: boolean, text: string }> }
  t.match(json.check, [{ ok: true, text: /5 users/ }, { ok: true, text: /shop\.example\.com/ }, { ok: true, text: /memory:\/\// }], '--json holds the findings')

  // Broken: a wrong password, a missing table, a Redis nobody runs.
  const wrong = new URL(db.url)
  // This PostgreSQL trusts loopback (passwords are not checked): a role that does not exist is refused.
  wrong.username = `no_such_role_${process.pid}`
  wrong.password = 'not-the-password'
  const unreachable = await freePort()
  const bad = await cli(['config', '--check'], {
    ORO_DB_URL: `postgres://oro:check-pw@127.0.0.1:${unreachable}/oro`,
    ORO_WEBSOCKET_BROKER_DSN: `redis://:redis-pw@127.0.0.1:${unreachable}/0`
  })
  t.equal(bad.code, 1, 'exit 1 when a check fails')
  t.match(checkLines(bad.stdout), [
    new RegExp(`^FAIL +database postgres://oro:\\*\\*\\*@127\\.0\\.0\\.1:${unreachable}/oro: cannot connect: .*ECONNREFUSED`),
    new RegExp(`^FAIL +broker redis://\\*\\*\\*@127\\.0\\.0\\.1:${unreachable}/0: not reachable .*check ORO_WEBSOCKET_BROKER_DSN`)
  ])
  t.notMatch(bad.stdout + bad.stderr, /check-pw|redis-pw/)
  t.match(checkLines(bad.stdout)[0], /cannot connect: unreachable \(ECONNREFUSED\): .*; check the host and port in ORO_DB_URL/, 'told apart as the gateway tells database failures apart')
  const login = await cli(['config', '--check'], { ORO_DB_URL: wrong.toString() })
  t.equal(login.code, 1)
  t.match(checkLines(login.stdout)[0], /^FAIL +database postgres:\/\/no_such_role_\d+:\*\*\*@.*: cannot connect: login refused \(28000\): .*; check the user and password in ORO_DB_URL$/, 'a wrong login is refused, with what to check')
  t.notMatch(login.stdout + login.stderr, /not-the-password/)
  const table = await cli(['config', '--check'], { ORO_DB_URL: db.url, ORO_WEBSOCKET_USER_TABLE: 'no_such_users' })
  t.equal(table.code, 1)
  t.match(checkLines(table.stdout)[0], /^FAIL +database .*: table no_such_users \(ORO_WEBSOCKET_USER_TABLE\) cannot be read: .*no_such_users/)
})

test('config --check with MariaDB: the user table, and no Oro configuration tables', { ...(await needsMysql()), timeout: 60_000 }, async (t) => {
  const users = await createMysqlUsers(t)
  const ok = await cli(['config', '--check'], { ORO_DB_URL: users.url, ORO_WEBSOCKET_USER_TABLE: users.table })
  t.equal(ok.code, 0, `exit 0 ${ok.stderr}`)
  t.match(checkLines(ok.stdout), [
    new RegExp(`^ok +database mysql://.*: table ${users.table} readable, 5 users$`),
    /^ok +application URL: not found/,
    /^ok +broker: memory:\/\//
  ])
  const wrongDb = new URL(MYSQL_URL)
  wrongDb.pathname = '/no_such_database_here'
  const bad = await cli(['config', '--check'], { ORO_DB_URL: wrongDb.toString(), ORO_WEBSOCKET_USER_TABLE: users.table })
  t.equal(bad.code, 1)
  t.match(checkLines(bad.stdout)[0], /^FAIL +database .*: cannot connect: .*no_such_database_here/)
})

test('ticket: an anonymous ticket and a user\'s ticket (from the database) that the gateway accepts', { ...(await needsPostgres()), timeout: 90_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com', otherScopeUrl: 'https://other.example.com' })
  const gw = await startGateway({ env: { ORO_SECRET: SECRET, ORO_DB_URL: db.url } }, t)
  const env = { ORO_DB_URL: db.url, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gw.port}` }

  const anonymous = await cli(['ticket'], env)
  t.equal(anonymous.code, 0, anonymous.stderr)
  t.match(anonymous.stderr, /^anonymous ticket, valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00; connect with ws:\/\/127\.0\.0\.1:8080\/ws\?ticket=/)
  const client = await connectWamp(`ws://127.0.0.1:${gw.port}/ws?ticket=${encodeURIComponent(anonymous.stdout.trim())}`)
  t.ok(client, 'connected with the anonymous ticket')
  client.close()

  const alice = await cli(['ticket', '--user', 'alice'], env)
  t.equal(alice.code, 0, alice.stderr)
  t.match(Buffer.from(alice.stdout.trim(), 'base64').toString(), /^[A-Za-z0-9+/]{86}==;alice;[0-9a-f]{16};\d{4}-/, 'digest;username;nonce;created')
  const user = await connectWamp(`ws://127.0.0.1:${gw.port}/ws?ticket=${encodeURIComponent(alice.stdout.trim())}`)
  t.ok(user, 'connected with alice\'s ticket (checked against her password hash)')
  user.close()
  const byEmail = await cli(['ticket', '-u', 'Dave.Smith@example.com'], env)
  t.equal(byEmail.code, 0, 'by e-mail, as Oro looks users up')
  t.match(Buffer.from(byEmail.stdout.trim(), 'base64').toString(), /;dave;/)

  t.match(await cli(['ticket', '--user', 'nobody'], env), { code: 1, stderr: /^GW_ERR_USER_UNKNOWN: no user "nobody" in oro_user/ })
  t.match(await cli(['ticket', '--user', 'carol'], env), { code: 1, stderr: /^GW_ERR_USER_DISABLED: user "carol" is disabled/ })
  t.match(await cli(['ticket', '--user', 'alice'], { ...env, ORO_DB_URL: '' }), { code: 1, stderr: /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_DB_URL is not set/ })
  t.match(await cli(['ticket'], { ORO_SECRET: '' }), { code: 1, stderr: /ORO_SECRET is not set; tickets are signed with it/ })
})
