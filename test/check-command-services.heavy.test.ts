// `oro-websocket-gateway check` with the services: Redis (up, then down), Oro's database in
// PostgreSQL (users, the application URL, a wrong table), TLS through nginx's TLS server block.
import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { loadConfig } from '../src/config/load.js'
import { nginxParts, renderNginx } from '../src/cli/nginx-config.js'
import { startApp } from './helpers/app.js'
import { nginxBinary } from './helpers/nginx.js'
import { runNginx } from './helpers/nginx-run.js'
import { redisOptions, startRedis } from './helpers/redis.js'
import { findBinary, freePort, serviceOptions } from './helpers/services.js'
import { createPgUsers, needsPostgres, PG_URL } from './helpers/databases.js'
import { doctor, line, ORIGIN, SECRET, site } from './helpers/doctor.js'

const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')

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
  t.match(line(down.stdout, 'publish'), /^skip .*the broker is down/, 'no publish is tried without the broker')
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
  await client.query(`INSERT INTO ${schema}.oro_config_value VALUES (2, 1, 'secure_url', 'oro_website', 'https://store.example.com/', 'scalar')`)

  const gateway = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_DB_URL: users.url, ORO_WEBSOCKET_USER_TABLE: users.table, ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1' }, 'prod', 'warn')
  const env = { ORO_SECRET: SECRET, ORO_DB_URL: users.url, ORO_WEBSOCKET_USER_TABLE: users.table, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${gateway.port}/ws` }
  const good = await doctor(env, ['--url', `ws://127.0.0.1:${gateway.port}/ws`])
  t.match(line(good.stdout, 'database'), /^ok .*: 5 users in .*oro_user; application URL https:\/\/shop\.example\.com; hosts of Oro's URLs \(origins from the database\): shop\.example\.com, store\.example\.com$/, 'the URLs read as the gateway reads them')
  t.match(line(good.stdout, 'origin'), /^ok .*Origin https:\/\/shop\.example\.com is allowed/, 'the origin comes from the application URL')

  const wrong = await doctor({ ...env, ORO_WEBSOCKET_USER_TABLE: `${schema}.users` }, ['--url', `ws://127.0.0.1:${gateway.port}/ws`])
  t.equal(wrong.code, 1)
  t.match(line(wrong.stdout, 'database'), /^FAIL .*the user table .*\.users cannot be read .* -> fix: set ORO_WEBSOCKET_USER_TABLE/)
})

test('TLS: an ssl:// BACKEND DSN and wss:// through the server block `nginx --tls` prints', { ...needsNginx, ...serviceOptions(findBinary('openssl') !== undefined, 'openssl', 'apt-get install openssl') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-check-tls-'))
  const crt = join(dir, 'site.crt')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'site.key'), '-out', crt], { stdio: 'ignore' })
  const tlsPort = await freePort()
  const common = { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'publish-key', ORO_WEBSOCKET_FRONTEND_DSN: `//*:${tlsPort}/ws` }
  const gateway = await startApp(t, { ...common, ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1' }, 'prod', 'warn')
  // The seed's form of the BACKEND DSN for a TLS site: through nginx on the site's port.
  const env = { ...common, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `ssl://localhost:${tlsPort}/ws?context_options[cafile]=${crt}`, NODE_EXTRA_CA_CERTS: crt }
  const loaded = loadConfig({ env, cwd: process.cwd() })
  const text = renderNginx(nginxParts(loaded.gateway, { tls: true, upstream: 1, serverName: 'localhost', sslCertificate: crt, sslCertificateKey: join(dir, 'site.key') }), 'the test')
  await runNginx(t, text, tlsPort, dir)
  // --timeout 10: should the publish be refused, its wait is the timeout.
  const result = await doctor(env, ['--url', `wss://localhost:${tlsPort}/ws`, '--origin', ORIGIN, '--timeout', '10'])
  // nginx writes the 101 and the WELCOME apart: on a busy machine one handshake may split, which
  // the check reports as a warning after a retry (a split every time would fail it).
  t.match(line(result.stdout, 'backend'), new RegExp(`^(ok|warn) +backend .*ssl://localhost:${tlsPort}/ws: 101 \\+ WELCOME in the first read`), 'Oro\'s handshake over TLS through nginx')
  t.match(line(result.stdout, 'frontend'), new RegExp(`^ok +frontend .*wss://localhost:${tlsPort}/ws: WELCOME`), 'wss:// trusting the test certificate')
  t.match(line(result.stdout, 'publish'), /^ok +publish/, 'the backend\'s publish through the trusted nginx (forwarding a backend address) is delivered')
  t.comment(line(result.stdout, 'publish'))
  const untrusted = await doctor({ ...env, NODE_EXTRA_CA_CERTS: '', ORO_WEBSOCKET_BACKEND_DSN: `ssl://localhost:${tlsPort}/ws` }, ['--url', `wss://localhost:${tlsPort}/ws`, '--origin', ORIGIN])
  t.equal(untrusted.code, 1)
  t.match(line(untrusted.stdout, 'backend'), /^FAIL .*SELF_SIGNED|^FAIL .*certificate/i, 'an untrusted certificate fails the backend step')
  t.match(line(untrusted.stdout, 'frontend'), /^FAIL .*(SELF_SIGNED|certificate)/i, 'and the frontend step')
})
