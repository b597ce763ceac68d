// Issue 16 §5: saving Oro's System Configuration (Oro 6.0.10+ / 6.1.7+ / 7.x) bumps the
// system_config row of oro_sync_websocket_server_state; Oro's own server polls it every second and
// stops itself. The gateway polls it too and applies the change at once: the new application URL
// is an allowed origin and the routing files are read again, while open pages stay connected.
// "Within 2 s" is asserted in polls (the first poll after the bump applies it, one poll a second),
// never in time; test/server-state-watch-polls.test.ts counts them with a scheduler of its own.
// SIGHUP re-reads the routing files of a running gateway the same way.
import { test } from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startApp, type TestApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { connectWamp } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'
import { needsMysql, needsPostgres } from './helpers/databases.js'
import { mariaOroTables, pgOroTables, type OroTables } from './helpers/oro-tables.js'
import { startGateway } from './helpers/spawn-gateway.js'

const SECRET = 'state-secret'
const ticket = (): string => encodeURIComponent(makeTicket({ secret: SECRET }))

// Oro's tables as its migrations make them: the configuration tables, and the state table of
// SyncBundle's CreateWebsocketServerStateTable (id string(15) primary key, updated_at datetime
// nullable), with the row Oro's server writes when it starts.
const TABLES = (datetime: string, bool: string): string[] => [
  `CREATE TABLE {s}.oro_user (id integer PRIMARY KEY, username varchar(255) NOT NULL, email varchar(255) NOT NULL, password varchar(255) NOT NULL, enabled ${bool} NOT NULL)`,
  'CREATE TABLE {s}.oro_config (id integer PRIMARY KEY, entity varchar(255) DEFAULT NULL, record_id integer NOT NULL)',
  `CREATE TABLE {s}.oro_config_value (id integer PRIMARY KEY, config_id integer DEFAULT NULL, name varchar(255) NOT NULL,
    section varchar(50) DEFAULT NULL, text_value text, object_value text, array_value text, type varchar(20) NOT NULL,
    created_at ${datetime} NOT NULL, updated_at ${datetime} DEFAULT NULL)`,
  "INSERT INTO {s}.oro_config (id, entity, record_id) VALUES (1, 'app', 0)",
  `INSERT INTO {s}.oro_config_value (id, config_id, name, section, text_value, type, created_at) VALUES
    (1, 1, 'application_url', 'oro_ui', 'https://admin.example.com/', 'scalar', CURRENT_TIMESTAMP)`,
  `CREATE TABLE {s}.oro_sync_websocket_server_state (id varchar(15) NOT NULL, updated_at ${datetime} DEFAULT NULL, PRIMARY KEY (id))`,
  "INSERT INTO {s}.oro_sync_websocket_server_state (id, updated_at) VALUES ('system_config', '2026-12-01 09:00:00')"
]

interface Teardown { teardown: (fn: () => unknown) => void }
type Db = OroTables
/** Without the state table: Oro before 6.0.10 / 6.1.7. */
const pgDatabase = async (t: Teardown, withState = true): Promise<Db> =>
  await pgOroTables(t, 'gw_state', (datetime, bool) => TABLES(datetime, bool).slice(0, withState ? undefined : -2))
const mariaDatabase = async (t: Teardown): Promise<Db> => await mariaOroTables(t, 'gw_state', TABLES)

async function status (gw: TestApp, origin: string): Promise<number> {
  const answer = await rawUpgrade(gw.port, `/ws?ticket=${ticket()}`, { Origin: origin, 'X-Forwarded-For': '203.0.113.30' })
  answer.destroy()
  return answer.status
}

/** An Oro application root with one application-level routing file. */
function appRoot (routes: string): string {
  const root = mkdtempSync(join(tmpdir(), 'gw-state-app-'))
  mkdirSync(join(root, 'config', 'oro', 'websocket_routing'), { recursive: true })
  writeFileSync(join(root, 'config', 'oro', 'websocket_routing', 'app.yml'), routes)
  return root
}

const ROUTE = (channel: string): string => `acme.${channel.replace(/\W/g, '_')}:\n    channel: '${channel}'\n    handler:\n        callback: 'acme.x'\n    policy: public\n`

async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms) })
  try { return await Promise.race([promise, deadline]) } finally { clearTimeout(timer) }
}

for (const [name, options, create, bump] of [
  ['PostgreSQL', await needsPostgres(), pgDatabase, "UPDATE {s}.oro_sync_websocket_server_state SET updated_at = '2026-12-01 09:05:00' WHERE id = 'system_config'"],
  ['MariaDB', await needsMysql(), mariaDatabase, "UPDATE {s}.oro_sync_websocket_server_state SET updated_at = '2026-12-01 09:05:00' WHERE id = 'system_config'"]
] as const) {
  test(`${name}: the application URL saved in System Configuration is allowed at once; an open page stays connected`, options, async (t) => {
    const db = await create(t)
    const root = appRoot(ROUTE('acme/old'))
    // A periodic read that could explain the change is an hour away.
    const gw = await startApp(t, {
      ORO_SECRET: SECRET, ORO_DB_URL: db.url, ORO_WEBSOCKET_USER_TABLE: db.table, ORO_WEBSOCKET_TOPICS: '', ORO_WEBSOCKET_ORIGINS_REFRESH: '3600'
    }, 'prod', 'info', { appRoot: root })
    const watch = gw.app.serverStateWatch
    if (watch === null) throw new Error('the state table is not watched')
    await watch.started()
    t.equal(watch.phase, 'watching')

    const page = await connectWamp(`${gw.wsUrl}/ws?ticket=${ticket()}`, { headers: { Origin: 'https://admin.example.com', 'X-Forwarded-For': '203.0.113.30' } })
    t.teardown(() => page.close())
    page.subscribe('oro/data/update')
    await page.sync()

    // What saving System Configuration does: the new URL, then the state row.
    await db.run("UPDATE {s}.oro_config_value SET text_value = 'https://moved.example.com' WHERE id = 1")
    t.equal(await status(gw, 'https://moved.example.com'), 403, 'not before the state row changes')
    writeFileSync(join(root, 'config', 'oro', 'websocket_routing', 'app.yml'), ROUTE('acme/old') + ROUTE('acme/new'))
    const applied = watch.nextChange()
    const bumped = Date.now()
    await db.run(bump)
    // Polls begun by the time the bump is committed: the first one begun after must apply it.
    // Counted, not timed ("within 2 s" on a busy machine): polled every second (the watch's own
    // interval, asserted), applied by poll bumpPoll + 1 at the latest = within about a second.
    const bumpPoll = watch.polls
    await within(applied, 60_000, 'applying the change') // a hang guard, not a timing assertion
    t.equal(watch.intervalMs, 1000, 'the state row is polled every second, as by Oro\'s server')
    t.ok((watch.appliedAtPoll ?? Infinity) <= bumpPoll + 1, `applied by the first poll after the bump (poll ${String(watch.appliedAtPoll)}, the bump after poll ${bumpPoll})`)
    t.comment(`state row bumped → applied in ${Date.now() - bumped} ms (for information)`)

    t.equal(await status(gw, 'https://moved.example.com'), 101, 'the new application URL is an allowed origin')
    t.equal(await status(gw, 'https://admin.example.com'), 403, 'the old one no longer')
    t.ok(gw.app.topicRouter.match('acme/new') !== null, 'the routing files were read again')
    t.equal(page.ws.readyState, WebSocket.OPEN, 'the open page stays connected')
    const backend = await connectWamp(`${gw.wsUrl}/?ticket=${ticket()}`, { headers: { Origin: '127.0.0.1' } })
    t.teardown(() => backend.close())
    backend.publish('oro/data/update', [{ username: null, tagname: 'after the save' }])
    t.same(await page.waitForEvents(1, 'oro/data/update'), [[{ username: null, tagname: 'after the save' }]], 'and still receives')
    t.ok(gw.logs.some((l) => l.level === 'notice' && typeof l.msg === 'string' && l.msg.startsWith("Oro's system configuration was saved")), 'logged at notice')
  })
}

test('PostgreSQL: without the state table (Oro before 6.0.10) the gateway says so once and keeps going', await needsPostgres(), async (t) => {
  const db = await pgDatabase(t, false)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: db.url, ORO_WEBSOCKET_USER_TABLE: db.table, ORO_WEBSOCKET_TOPICS: '' }, 'prod', 'info')
  const watch = gw.app.serverStateWatch
  if (watch === null) throw new Error('not watched')
  await watch.started()
  t.equal(watch.phase, 'absent')
  const said = gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('oro_sync_websocket_server_state is not in Oro'))
  t.equal(said.length, 1)
  t.equal(said[0]?.level, 'info')
  t.equal(await status(gw, 'https://admin.example.com'), 101, 'origins are read as before')
})

test('SIGHUP re-reads the routing files of a running gateway; open sessions stay', async (t) => {
  const root = appRoot(ROUTE('acme/old'))
  const gw = await startGateway({ args: ['--env=prod', '--app-root', root], env: { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' } }, t)
  const wsUrl = gw.url.replace('http', 'ws')
  const page = await connectWamp(`${wsUrl}/ws?ticket=${ticket()}`, { headers: { 'X-Forwarded-For': '203.0.113.31' } })
  t.teardown(() => page.close())
  page.subscribe('acme/new')
  page.subscribe('acme/old')
  await page.sync()

  writeFileSync(join(root, 'config', 'oro', 'websocket_routing', 'app.yml'), ROUTE('acme/new'))
  gw.child.kill('SIGHUP')
  const deadline = Date.now() + 30_000
  const reloaded = (): Record<string, unknown> | undefined => gw.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('topic rules reloaded (SIGHUP)'))
  // The child's log is a stream: read it as it grows (no event to await across processes).
  while (reloaded() === undefined && gw.child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.match(reloaded(), { changed: 2 }, 'acme/new added, acme/old removed')
  t.equal(gw.child.exitCode, null, 'the gateway keeps running')

  page.subscribe('acme/new')
  await page.sync()
  const backend = await connectWamp(`${wsUrl}/?ticket=${ticket()}`, { headers: { Origin: '127.0.0.1' } })
  t.teardown(() => backend.close())
  backend.publish('acme/old', 'gone')
  backend.publish('acme/new', 'hello')
  t.same(await page.waitForEvents(1, 'acme/new'), ['hello'], 'the session opened before SIGHUP subscribes to the new route')
  t.same(page.events('acme/old'), [], 'the removed route has no subscriber left')
  t.equal(page.ws.readyState, WebSocket.OPEN)
})
