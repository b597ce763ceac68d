// Oro's database as Symfony resolves it (issue 16 §2): Doctrine's connection is
// `database_dsn: '%env(ORO_DB_DSN)%'`, and Oro's .env-app sets `ORO_DB_DSN=${ORO_DB_URL}`. So
// ORO_DB_DSN (environment, then .env-app.local, then .env-app, references expanded) wins, else
// ORO_DB_URL. Installs that set only ORO_DB_DSN (Oro's docker demo) must not get .env-app's
// sample URL. Fixtures are shaped like Oro's own files (test/fixtures/oro-app/.env-app).
import { test } from 'tap'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load.js'
import { cli, freePort, startGateway } from './helpers/spawn-gateway.js'
import { needsPostgres, USERS } from './helpers/databases.js'
import { createOroDatabase } from './helpers/oro-database.js'
import { connectWamp } from './helpers/wamp-client.js'
import { makeTicket } from './helpers/tickets.js'

const FIXTURE = new URL('fixtures/oro-app/.env-app', import.meta.url)
const SAMPLE = 'postgres://oro_db_user:oro_db_pass@127.0.0.1:5432/oro_db?sslmode=disable&charset=utf8&serverVersion=13.7'
const SECRET = 'database-dsn-secret'

/** An Oro application root: Oro's stock .env-app, and a .env-app.local when given. */
function appRoot (t: { teardown: (fn: () => void) => void }, local?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-oro-app-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  copyFileSync(FIXTURE, join(dir, '.env-app'))
  if (local !== undefined) writeFileSync(join(dir, '.env-app.local'), local)
  return dir
}

const WS = { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8080', ORO_WEBSOCKET_FRONTEND_DSN: '//*:8080/ws', ORO_WEBSOCKET_BACKEND_DSN: 'tcp://127.0.0.1:8080' }

test('which variable names the database, and where it came from', async (t) => {
  const database = (env: Record<string, string>, root?: string, parametersFile?: string): { url: string | undefined, setting: string, source: string } => {
    const loaded = loadConfig({ env: { ...WS, ...env }, cwd: process.cwd(), ...(root !== undefined ? { appRoot: root } : {}), ...(parametersFile !== undefined ? { parametersFile } : {}) })
    const { databaseUrl, databaseSetting } = loaded.gateway
    const origin = loaded.origins[databaseSetting]
    return { url: databaseUrl, setting: databaseSetting, source: origin.kind === 'file' ? origin.file : origin.kind }
  }
  const stock = appRoot(t)
  t.same(database({}, stock), { url: SAMPLE, setting: 'ORO_DB_DSN', source: join(stock, '.env-app') }, 'Oro\'s stock .env-app: ORO_DB_DSN=${ORO_DB_URL}, the sample URL')
  t.same(database({ ORO_DB_DSN: 'postgres://demo@db:5432/oro' }, stock), { url: 'postgres://demo@db:5432/oro', setting: 'ORO_DB_DSN', source: 'environment' },
    'Oro\'s docker demo: only ORO_DB_DSN in the environment wins over .env-app\'s sample')
  t.same(database({ ORO_DB_URL: 'postgres://env@db/oro' }, stock), { url: 'postgres://env@db/oro', setting: 'ORO_DB_DSN', source: join(stock, '.env-app') },
    '${ORO_DB_URL} takes the environment\'s ORO_DB_URL, as Symfony\'s Dotenv does')
  const local = appRoot(t, 'ORO_DB_URL=postgres://local@db/oro\n')
  t.same(database({}, local), { url: 'postgres://local@db/oro', setting: 'ORO_DB_DSN', source: join(local, '.env-app') }, '${ORO_DB_URL} takes .env-app.local\'s ORO_DB_URL')
  const localDsn = appRoot(t, 'ORO_DB_DSN=postgres://dsn@db/oro\n')
  t.same(database({ ORO_DB_URL: 'postgres://env@db/oro' }, localDsn), { url: 'postgres://dsn@db/oro', setting: 'ORO_DB_DSN', source: join(localDsn, '.env-app.local') },
    'ORO_DB_DSN in .env-app.local wins over ORO_DB_URL, wherever that is set')
  t.same(database({ ORO_DB_URL: 'postgres://env@db/oro' }), { url: 'postgres://env@db/oro', setting: 'ORO_DB_URL', source: 'environment' }, 'no ORO_DB_DSN anywhere: ORO_DB_URL')
  t.same(database({ ORO_DB_URL: 'postgres://env@db/oro', ORO_DB_DSN: '' }), { url: 'postgres://env@db/oro', setting: 'ORO_DB_URL', source: 'environment' }, 'ORO_DB_DSN= (empty) counts as not set')

  // A legacy parameters.yml outranks the files: Oro's ${ORO_DB_URL} reference takes its database.
  const parameters = join(stock, 'parameters.yml')
  writeFileSync(parameters, 'parameters:\n  database_driver: pdo_pgsql\n  database_host: legacy-db\n  database_port: 5432\n  database_name: oro\n  database_user: oro\n  database_password: pw\n')
  t.match(database({}, stock, parameters), { url: /^postgres(ql)?:\/\/oro:pw@legacy-db:5432\/oro/, setting: 'ORO_DB_DSN' }, '--parameters\' database, through .env-app\'s ${ORO_DB_URL}')
})

test('Oro\'s docker demo against real PostgreSQL: only ORO_DB_DSN in the environment; config says so, config --check warns, users connect', { ...(await needsPostgres()), timeout: 120_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com', otherScopeUrl: 'https://other.example.com' })
  const root = appRoot(t)
  const port = await freePort()
  const env = { ...WS, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`, ORO_SECRET: SECRET, ORO_DB_DSN: db.url }

  const config = await cli(['config', `--app-root=${root}`], env)
  t.equal(config.code, 0, config.stderr)
  t.match(config.stdout, /^database: +ORO_DB_DSN \(environment\)$/m, 'config names the variable used and where it came from')
  const json = JSON.parse((await cli(['config', '--json', `--app-root=${root}`], env)).stdout) as { database: unknown }
  t.same(json.database, { setting: 'ORO_DB_DSN', source: 'environment' })

  const check = await cli(['config', '--check', `--app-root=${root}`], env)
  t.equal(check.code, 0, `exit 0: the database of ORO_DB_DSN answers ${check.stdout}${check.stderr}`)
  t.match(check.stdout, new RegExp(`^ok +database postgres://.*/${db.name}: table oro_user readable, 5 users$`, 'm'))
  t.match(check.stdout, /^warn +database: ORO_DB_DSN \(postgres:\/\/.*, environment\) and ORO_DB_URL \(postgres:\/\/oro_db_user:\*\*\*@127\.0\.0\.1:5432\/oro_db\?.*, .*\.env-app\) differ; the gateway uses ORO_DB_DSN/m,
    'both set and different: a warning, not a failure')

  const gw = await startGateway({ env, args: ['--env=prod', `--app-root=${root}`] }, t)
  const alice = USERS.find((u) => u.username === 'alice')
  if (alice === undefined) throw new Error('no alice')
  const ticket = makeTicket({ secret: SECRET, username: alice.username, password: alice.password })
  const page = await connectWamp(`ws://127.0.0.1:${gw.port}/ws?ticket=${encodeURIComponent(ticket)}`)
  t.ok(page.sessionId, 'a logged-in user\'s ticket is checked against the database of ORO_DB_DSN')
  page.close()
  const start = gw.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('oro-websocket-gateway listening'))
  t.match(start?.database, new RegExp(`/${db.name}\\?.* \\(ORO_DB_DSN\\)$`), 'the start line names it too')
})

test('Oro\'s .env-app shape against real PostgreSQL: ORO_DB_DSN=${ORO_DB_URL}, the URL in .env-app.local', { ...(await needsPostgres()), timeout: 60_000 }, async (t) => {
  const db = await createOroDatabase(t, { applicationUrl: 'https://shop.example.com', otherScopeUrl: 'https://other.example.com' })
  const root = appRoot(t, `ORO_SECRET=${SECRET}\nORO_DB_URL=${db.url}\nORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:8080\nORO_WEBSOCKET_FRONTEND_DSN=//*:8080/ws\nORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080\n`)
  const config = await cli(['config', `--app-root=${root}`], {})
  t.equal(config.code, 0, config.stderr)
  t.match(config.stdout, /^database: +ORO_DB_DSN \(.*\/\.env-app, written ORO_DB_DSN=\$\{ORO_DB_URL\}\)$/m)
  const check = await cli(['config', '--check', `--app-root=${root}`], {})
  t.equal(check.code, 0, check.stdout + check.stderr)
  t.match(check.stdout, new RegExp(`^ok +database postgres://.*/${db.name}: table oro_user readable, 5 users$`, 'm'))
  t.notMatch(check.stdout, /^warn/m, 'the same database in both: nothing to warn about')
})
