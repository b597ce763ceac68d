// `oro-websocket-gateway check`, the doctor, against real gateways behind real nginx (blocks from
// `oro-websocket-gateway nginx`), with Redis and PostgreSQL: all good exits 0; each thing broken on
// purpose prints its failing line with the fix and exits 1.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import pg from 'pg'
import { loadConfig } from '../src/config/load.js'
import { nginxParts, renderNginx } from '../src/cli/nginx-config.js'
import { startApp } from './helpers/app.js'
import { nginxBinary } from './helpers/nginx.js'
import { runNginx } from './helpers/nginx-run.js'
import { redisOptions, startRedis } from './helpers/redis.js'
import { freePort, serviceOptions } from './helpers/services.js'
import { cliPath } from './helpers/spawn-gateway.js'
import { createPgUsers, needsPostgres, PG_URL } from './helpers/databases.js'

const run = promisify(execFile)
const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')
const SECRET = 'the-application-secret'
const ORIGIN = 'https://shop.example.com'

interface Teardown { teardown (fn: () => unknown): void }

interface Site {
  /** The settings the Oro application has (what the doctor reads). */
  env: Record<string, string>
  url: string
}

/** A gateway in production mode and nginx in front of it with the block `nginx` prints, edited by `edit`. */
async function site (t: Teardown, gatewayEnv: Record<string, string> = {}, edit: (block: string) => string = (b) => b): Promise<Site> {
  const nginxPort = await freePort()
  const common = { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'publish-key', ORO_WEBSOCKET_FRONTEND_DSN: `//*:${nginxPort}/ws`, ...gatewayEnv }
  const gateway = await startApp(t, { ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1,localhost', ...common }, 'prod', 'warn')
  const env = { ...common, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${gateway.port}` }
  const loaded = loadConfig({ env, cwd: process.cwd() })
  const text = renderNginx(nginxParts(loaded.gateway, { tls: false, upstream: 1 }), 'the test')
  await runNginx(t, edit(text), nginxPort)
  return { env, url: `ws://127.0.0.1:${nginxPort}/ws` }
}

async function doctor (env: Record<string, string>, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  try {
    // A generous --timeout: each step waits only as long as its answer takes, and the machine may be busy.
    const { stdout, stderr } = await run(process.execPath, [cliPath, 'check', '--timeout', '20', ...args], { env: { ...clean, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The report's line for a step. */
function line (stdout: string, step: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^(ok  |FAIL|warn|skip)  ${step}\\s`).test(l)) ?? `(no ${step} line in:\n${stdout})`
}

test('all good: every step passes and the exit code is 0', needsNginx, async (t) => {
  const { env, url } = await site(t)
  const result = await doctor(env, ['--url', url, '--origin', ORIGIN])
  if (result.code !== 0) t.comment(result.stdout + result.stderr)
  t.equal(result.code, 0, 'exit 0')
  for (const step of ['broker', 'gateway', 'backend', 'ticket', 'origin', 'frontend', 'publish', 'http']) {
    t.match(line(result.stdout, step), /^ok {2}/, `${step} passes`)
  }
  t.match(line(result.stdout, 'backend'), /101 \+ WELCOME in the first read/)
  t.match(line(result.stdout, 'database'), /^skip .*ORO_DB_URL is not set/, 'no database: said, not failed')
  t.match(result.stdout, /\n8 passed, 0 failed, 0 warnings, 1 skipped\n$/)
})

test('a proxy location on another path than the FRONTEND DSN\'s: the frontend step fails with the fix', needsNginx, async (t) => {
  const { env, url } = await site(t, {}, (block) => block.replace('location /ws {', 'location /websocket {'))
  const result = await doctor(env, ['--url', url, '--origin', ORIGIN])
  t.equal(result.code, 1)
  t.match(line(result.stdout, 'frontend'), /^FAIL {2}frontend .*HTTP 404 instead of 101 -> fix: nothing forwards \/ws to the gateway: the proxy's location must be the FRONTEND DSN's path \/ws/)
  t.match(line(result.stdout, 'backend'), /^ok/, 'the other steps still pass')
  t.match(line(result.stdout, 'publish'), /^ok .*on the gateway's address/, 'the probe falls back to a direct session')
})

test('nginx without the Upgrade headers: the frontend step fails and names them', needsNginx, async (t) => {
  const { env, url } = await site(t, {}, (block) => block
    .replace('proxy_http_version 1.1;', '')
    .replace('proxy_set_header Upgrade $http_upgrade;', '')
    .replace('proxy_set_header Connection "upgrade";', ''))
  const result = await doctor(env, ['--url', url, '--origin', ORIGIN])
  t.equal(result.code, 1)
  t.match(line(result.stdout, 'frontend'), /^FAIL .*HTTP 426 GW_ERR_UPGRADE_REQUIRED instead of 101 -> fix: the proxy forwards the request without the WebSocket upgrade: .*proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection "upgrade"/)
})

test('a wrong secret: the backend handshake and the ticket step fail and point at ORO_SECRET', needsNginx, async (t) => {
  const { env, url } = await site(t)
  const result = await doctor({ ...env, ORO_SECRET: 'another-secret' }, ['--url', url, '--origin', ORIGIN])
  t.equal(result.code, 1)
  t.match(line(result.stdout, 'backend'), /^FAIL .*HTTP 401 GW_ERR_TICKET_INVALID -> fix: .*ORO_SECRET/)
  t.match(line(result.stdout, 'ticket'), /^FAIL .*GW_ERR_TICKET_INVALID -> fix: .*ORO_SECRET/)
  t.match(line(result.stdout, 'publish'), /^skip/, 'nothing to publish with')
})

test('a gateway that checks no tickets (no ORO_SECRET, development mode) is a warning', async (t) => {
  const gateway = await startApp(t, {}, 'dev', 'warn')
  const env = { ORO_SECRET: SECRET, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${gateway.port}/ws` }
  const result = await doctor(env, [])
  t.match(line(result.stdout, 'ticket'), /^warn .*so is one signed with another secret -> fix: .*set ORO_SECRET/)
  t.match(line(result.stdout, 'frontend'), new RegExp(`^ok .*ws://127\\.0\\.0\\.1:${gateway.port}/ws`), 'FRONTEND host * on the gateway\'s port: browsers connect directly')
  t.match(line(result.stdout, 'origin'), /^skip .*--origin/, 'no application URL: the origin step says how to give it')
})

test('an origin the gateway does not allow: the origin step fails and says what to add', needsNginx, async (t) => {
  const { env, url } = await site(t, { ORO_WEBSOCKET_ALLOWED_ORIGINS: 'admin.example.com,127.0.0.1' })
  const result = await doctor(env, ['--url', url, '--origin', ORIGIN])
  t.equal(result.code, 1)
  t.match(line(result.stdout, 'origin'), /^FAIL .*Origin https:\/\/shop\.example\.com: HTTP 403 GW_ERR_ORIGIN_FORBIDDEN -> fix: .*add shop\.example\.com to ORO_WEBSOCKET_ALLOWED_ORIGINS/)
  t.match(line(result.stdout, 'backend'), /^ok/, 'the backend (Origin 127.0.0.1) is still allowed')
})

test('Redis: PING while it runs, the broker step fails with the fix once it is down', { ...needsNginx, ...redisOptions() }, async (t) => {
  const redis = await startRedis(t)
  const { env, url } = await site(t, { ORO_WEBSOCKET_BROKER_DSN: redis.dsn })
  const up = await doctor(env, ['--url', url, '--origin', ORIGIN])
  if (up.code !== 0) t.comment(up.stdout + up.stderr)
  t.equal(up.code, 0, 'exit 0')
  t.match(line(up.stdout, 'broker'), /^ok .*Redis \(redis\): PING -> PONG/)
  t.match(line(up.stdout, 'publish'), /^ok .*through the frontend/, 'published through Redis')

  await redis.stop()
  const down = await doctor(env, ['--url', url, '--origin', ORIGIN])
  t.equal(down.code, 1)
  t.match(line(down.stdout, 'broker'), /^FAIL .*does not answer PING.* -> fix: start Redis or correct ORO_WEBSOCKET_BROKER_DSN/)
})

test('the database: users and the application URL, whose host is the browsers\' origin; a wrong table fails', await needsPostgres(), async (t) => {
  const users = await createPgUsers(t)
  const schema = users.table.split('.')[0] as string
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`CREATE TABLE ${schema}.oro_config (id integer PRIMARY KEY, entity varchar(255), record_id integer)`)
  await client.query(`CREATE TABLE ${schema}.oro_config_value (id integer PRIMARY KEY, config_id integer, name varchar(255), section varchar(50), text_value text, type varchar(20))`)
  await client.query(`INSERT INTO ${schema}.oro_config VALUES (1, 'app', 0)`)
  await client.query(`INSERT INTO ${schema}.oro_config_value VALUES (1, 1, 'application_url', 'oro_ui', 'https://shop.example.com', 'scalar')`)

  const gateway = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_DB_URL: users.url, ORO_WEBSOCKET_USER_TABLE: users.table, ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1' }, 'prod', 'warn')
  const env = { ORO_SECRET: SECRET, ORO_DB_URL: users.url, ORO_WEBSOCKET_USER_TABLE: users.table, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${gateway.port}/ws` }
  const good = await doctor(env, ['--url', `ws://127.0.0.1:${gateway.port}/ws`])
  t.match(line(good.stdout, 'database'), /^ok .*: 5 users in .*oro_user; application URL https:\/\/shop\.example\.com/)
  t.match(line(good.stdout, 'origin'), /^ok .*Origin https:\/\/shop\.example\.com is allowed/, 'the origin comes from the application URL')

  const wrong = await doctor({ ...env, ORO_WEBSOCKET_USER_TABLE: `${schema}.users` }, ['--url', `ws://127.0.0.1:${gateway.port}/ws`])
  t.equal(wrong.code, 1)
  t.match(line(wrong.stdout, 'database'), /^FAIL .*the user table .*\.users cannot be read .* -> fix: set ORO_WEBSOCKET_USER_TABLE/)
})
