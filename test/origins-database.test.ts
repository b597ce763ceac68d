// Origins as Oro decides them (issue 11): with ORO_DB_URL and no ORO_WEBSOCKET_ALLOWED_ORIGINS,
// the hosts of the global application and website URLs in Oro's configuration tables are allowed,
// on real PostgreSQL and MariaDB holding Oro's tables with realistic rows; other scopes are not;
// a changed URL is picked up without a restart; the database going away keeps the last list.
import { test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { needsMysql, needsPostgres, startTcpProxy } from './helpers/databases.js'
import { mariaOroTables, pgOroTables, type OroTables } from './helpers/oro-tables.js'
import { hostOfUrl } from '../src/access/origin.js'
import { hostsOfUrls } from '../src/access/oro-config-origins.js'

const postgres = await needsPostgres()
const mariadb = await needsMysql()
const SECRET = 'origins-secret'

// Oro's configuration tables (OroConfigBundle) with the rows a real OroCommerce install holds.
const TABLES = (now: string, bool: string): string[] => [
  'CREATE TABLE {s}.oro_user (id integer PRIMARY KEY, username varchar(255) NOT NULL, email varchar(255) NOT NULL, password varchar(255) NOT NULL, enabled ' + bool + ' NOT NULL)',
  'CREATE TABLE {s}.oro_config (id integer PRIMARY KEY, entity varchar(255) DEFAULT NULL, record_id integer NOT NULL)',
  `CREATE TABLE {s}.oro_config_value (id integer PRIMARY KEY, config_id integer DEFAULT NULL, name varchar(255) NOT NULL,
    section varchar(50) DEFAULT NULL, text_value text, object_value text, array_value text, type varchar(20) NOT NULL,
    created_at ${now} NOT NULL, updated_at ${now} DEFAULT NULL)`,
  "INSERT INTO {s}.oro_config (id, entity, record_id) VALUES (1, 'app', 0), (2, 'user', 5), (3, 'organization', 1), (4, 'website', 2)",
  `INSERT INTO {s}.oro_config_value (id, config_id, name, section, text_value, type, created_at) VALUES
    (1, 1, 'application_url', 'oro_ui', 'https://admin.example.com:8443/oro/', 'scalar', CURRENT_TIMESTAMP),
    (2, 1, 'url', 'oro_website', 'shop.example.com', 'scalar', CURRENT_TIMESTAMP),
    (3, 1, 'secure_url', 'oro_website', 'https://secure.shop.example.com', 'scalar', CURRENT_TIMESTAMP),
    (4, 1, 'application_name', 'oro_ui', 'https://not-a-url-setting.example.com', 'scalar', CURRENT_TIMESTAMP),
    (5, 2, 'application_url', 'oro_ui', 'https://user-scope.example.com', 'scalar', CURRENT_TIMESTAMP),
    (6, 3, 'application_url', 'oro_ui', 'https://organization-scope.example.com', 'scalar', CURRENT_TIMESTAMP),
    (7, 4, 'url', 'oro_website', 'https://website-scope.example.com', 'scalar', CURRENT_TIMESTAMP)`
]

interface Teardown { teardown: (fn: () => unknown) => void }
type OroDatabase = OroTables
const pgDatabase = async (t: Teardown): Promise<OroTables> => await pgOroTables(t, 'gw_origins', TABLES)
const mariaDatabase = async (t: Teardown): Promise<OroTables> => await mariaOroTables(t, 'gw_origins', TABLES)

async function status (gw: TestApp, origin: string): Promise<number> {
  const answer = await rawUpgrade(gw.port, `/ws?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { Origin: origin })
  answer.destroy()
  return answer.status
}

async function gateway (t: Parameters<typeof pgDatabase>[0], db: OroDatabase, env: Record<string, string> = {}): Promise<TestApp> {
  return await startApp(t, {
    ORO_SECRET: SECRET, ORO_DB_URL: db.url, ORO_WEBSOCKET_USER_TABLE: db.table, ORO_WEBSOCKET_PUBLISH_KEYS: 'k',
    ORO_WEBSOCKET_FRONTEND_DSN: '//ws.example.com:443/ws', ...env
  }, 'prod', 'notice')
}

for (const [name, options, create] of [['PostgreSQL', postgres, pgDatabase], ['MariaDB', mariadb, mariaDatabase]] as const) {
  test(`${name}: the global application and website URLs are allowed origins, other scopes are not`, options, async (t) => {
    const db = await create(t)
    const gw = await gateway(t, db, { ORO_WEBSOCKET_ORIGINS_REFRESH: '3600' })
    const allowed = ['http://localhost:8080', '127.0.0.1', 'https://ws.example.com', 'https://admin.example.com:8443',
      'https://admin.example.com', 'https://shop.example.com', 'http://secure.shop.example.com']
    const refused = ['https://user-scope.example.com', 'https://organization-scope.example.com', 'https://website-scope.example.com',
      'https://not-a-url-setting.example.com', 'https://example.com']
    for (const origin of allowed) t.equal(await status(gw, origin), 101, `${origin} allowed`)
    for (const origin of refused) t.equal(await status(gw, origin), 403, `${origin} refused`)
    const start = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: '))
    t.match(start, { level: 'notice', fromDatabase: ['admin.example.com', 'secure.shop.example.com', 'shop.example.com'] }, 'logged at start with what came from the database')
  })

  test(`${name}: a changed application URL is picked up without a restart; a database outage keeps the last list`, options, async (t) => {
    const db = await create(t)
    const target = new URL(db.url)
    const proxy = await startTcpProxy(Number(target.port || (name === 'PostgreSQL' ? 5432 : 3306)), target.hostname)
    t.teardown(() => proxy.close())
    target.port = String(proxy.port)
    const gw = await gateway(t, { ...db, url: target.toString() }, { ORO_WEBSOCKET_ORIGINS_REFRESH: '1' })
    const refresh = gw.app.originRefresh
    if (refresh === null) throw new Error('origins are not read from the database')
    t.equal(await status(gw, 'https://new-admin.example.com'), 403)
    await db.run("UPDATE {s}.oro_config_value SET text_value = 'new-admin.example.com' WHERE id = 1")
    await refresh.nextRefresh()
    t.equal(await status(gw, 'https://new-admin.example.com'), 101, 'the new URL is allowed after the next periodic read')
    t.equal(await status(gw, 'https://admin.example.com'), 403, 'the old one no longer')

    await proxy.cut()
    await refresh.nextRefresh()
    t.equal(await status(gw, 'https://new-admin.example.com'), 101, 'the database gone, the last list stays')
    t.ok(gw.logs.some((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.includes('keeping the last known list')), 'and says so')
    await proxy.restore()
    await refresh.nextRefresh()
    t.ok(gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Allowed origins: ')).length >= 3, 'the list is logged again when it is read again')
  })

  test(`${name}: ORO_WEBSOCKET_ALLOWED_ORIGINS replaces the database's list; with "+" it adds to it`, options, async (t) => {
    const db = await create(t)
    const replaced = await gateway(t, db, { ORO_WEBSOCKET_ALLOWED_ORIGINS: 'only.example.com' })
    t.equal(await status(replaced, 'https://only.example.com'), 101)
    t.equal(await status(replaced, 'https://shop.example.com'), 403, 'the database is not read')
    t.equal(replaced.app.originRefresh, null)
    const added = await gateway(t, db, { ORO_WEBSOCKET_ALLOWED_ORIGINS: '+extra.example.com, https://other.example.com:9443' })
    for (const origin of ['https://extra.example.com', 'https://other.example.com:9443', 'https://shop.example.com', 'http://localhost']) {
      t.equal(await status(added, origin), 101, `${origin} allowed`)
    }
    t.equal(await status(added, 'https://other.example.com'), 403, 'an added entry with a port needs that port')
  })
}

test('hosts taken from URLs as Oro\'s OriginExtractor takes them', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['https://shop.example.com:8443/path?x=1', 'shop.example.com'], ['shop.example.com', 'shop.example.com'],
    ['  //Shop.Example.com/ ', 'shop.example.com'], ['http://[2001:db8::1]:8080/', '2001:db8::1'],
    ['', undefined], ['https://', undefined]
  ]
  for (const [url, host] of cases) t.equal(hostOfUrl(url), host, JSON.stringify(url))
  t.same(hostsOfUrls(['https://a.example.com', 'a.example.com:80', 'b.example.com']), ['a.example.com', 'b.example.com'], 'each host once')
})
