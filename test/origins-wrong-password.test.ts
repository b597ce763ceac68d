// Oro's database with a wrong password at start (issue 16 §6: "forever with a wrong password"):
// Oro's origins cannot be read, so a browser of the application URL is refused. The gateway must
// stay unready on 'origins', and its 403 log line must name the database problem (the login),
// not the ORO_WEBSOCKET_ALLOWED_ORIGINS override, which would hide it. Once the password is
// fixed (here the role's password changed to the one the gateway has), the origins are read and
// the page is accepted without a restart, long before the periodic read (an hour away).
// A PostgreSQL server of the test's own that checks passwords: the shared one trusts loopback.
import { test } from 'tap'
import pg from 'pg'
import { startApp, type TestApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { needsPasswordPostgres, startPasswordPostgres } from './helpers/password-postgres.js'

const SECRET = 'origins-password-secret'

async function status (gw: TestApp, origin: string): Promise<number> {
  const answer = await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { Origin: origin, 'X-Forwarded-For': '203.0.113.9' })
  answer.destroy()
  return answer.status
}

async function readyz (gw: TestApp): Promise<{ status: number, checks: Record<string, string> }> {
  const res = await fetch(`${gw.url}/readyz`)
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks }
}

/** Resolves once `check` holds (the condition is on the gateway's timers); a hang guard only. */
async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function sql (url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try { for (const statement of statements) await client.query(statement) } finally { await client.end() }
}

// ORO_DB_DSN too (Oro's docker demo sets only that one): the messages name the variable in use.
for (const setting of ['ORO_DB_URL', 'ORO_DB_DSN'] as const) {
  test(`${setting} with a wrong password at start: unready on origins, the 403 names the login, the page accepted once the password is right`, { ...needsPasswordPostgres(), timeout: 300_000 }, async (t) => {
    const server = await startPasswordPostgres(t)
    await sql(server.adminUrl(), ["CREATE ROLE oro_app LOGIN PASSWORD 'the-right-password'", 'CREATE DATABASE oro_db OWNER oro_app'])
    // Oro's tables, made by Oro's own database user.
    await sql(server.url('oro_app', 'the-right-password', 'oro_db'), [
      'CREATE TABLE oro_user (id integer PRIMARY KEY, username varchar(255) NOT NULL, email varchar(255) NOT NULL, password varchar(255) NOT NULL, enabled boolean NOT NULL)',
      'CREATE TABLE oro_config (id integer PRIMARY KEY, entity varchar(255), record_id integer NOT NULL)',
      `CREATE TABLE oro_config_value (id integer PRIMARY KEY, config_id integer, name varchar(255) NOT NULL, section varchar(50),
        text_value text, object_value text, array_value text, type varchar(20) NOT NULL, created_at timestamp(0) NOT NULL DEFAULT now(), updated_at timestamp(0))`,
      "INSERT INTO oro_config (id, entity, record_id) VALUES (1, 'app', 0)",
      "INSERT INTO oro_config_value (id, config_id, name, section, text_value, type) VALUES (1, 1, 'application_url', 'oro_ui', 'https://shop.example.com/', 'scalar')"
    ])

    // The operator's mistake: another password than the role's. prod at its default level (warning).
    const wrong = `${server.url('oro_app', 'a-wrong-password', 'oro_db')}?sslmode=disable&charset=utf8&serverVersion=15`
    const gw = await startApp(t, { ORO_SECRET: SECRET, [setting]: wrong, ORO_WEBSOCKET_ORIGINS_REFRESH: '3600' }, 'prod', 'warn')

    const down = await readyz(gw)
    t.equal(down.status, 503, '/readyz 503 while Oro\'s origins are not loaded')
    t.match(down.checks.origins, /^Oro's allowed origins not loaded: login refused \(28P01\)$/, 'naming the login')
    t.equal(await status(gw, 'https://shop.example.com'), 403, 'the application URL\'s browser is refused meanwhile')
    const refusal = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Client rejected, bad origin'))
    t.match(refusal, { level: 'warn', origin: 'https://shop.example.com', setting, database: 'login refused (28P01)' })
    t.match(refusal?.msg, new RegExp(`Oro's allowed origins .* are not loaded: its database \\(${setting}\\) cannot be read: login refused \\(28P01\\); check the user and password in ${setting}`))
    t.notMatch(JSON.stringify(refusal), /ORO_WEBSOCKET_ALLOWED_ORIGINS/, 'not the override, which would hide the real problem')
    t.notMatch(JSON.stringify(gw.logs), /a-wrong-password/, 'the password is never logged')

    // The fix: the role's password is now the one the gateway has (no restart of the gateway).
    await sql(server.adminUrl(), ["ALTER ROLE oro_app PASSWORD 'a-wrong-password'"])
    // The periodic read is an hour away: only the retry while failing can read them before.
    await until('Oro\'s origins loaded', async () => (await readyz(gw)).checks.origins === 'ok')
    t.equal(await status(gw, 'https://shop.example.com'), 101, 'the application URL\'s browser is accepted')
    await until('/readyz 200', async () => (await readyz(gw)).status === 200)
    t.pass('ready')
  })
}
