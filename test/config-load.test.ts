import { test } from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load.js'
import { ConfigError, ConfigErrors, configErrorLines } from '../src/config/errors.js'
import { GW_ERR_CONFIG_INVALID } from '../src/errors.js'
import { maskSecretValue, maskUrl } from '../src/config/mask.js'
import { parseDatabaseUrl } from '../src/auth/database-url.js'
import { examplePayload } from '../src/cli/payload-examples.js'
import { checkPayload } from '../src/topics/payload-shapes.js'
import { describeListenError } from '../src/listen-error.js'
import { legacyDsns } from '../src/config/parameters-yml.js'
import { renderConfig, maskSecret } from '../src/cli/config-command.js'

function appDir (files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

test('defaults are Oro\'s', async (t) => {
  const { gateway, origins } = loadConfig({ env: {}, cwd: appDir({}) })
  t.same(gateway.server, { enabled: true, host: '0.0.0.0', port: 8080, tls: null })
  t.match(gateway.frontend, { host: '*', port: 8080, path: 'ws' })
  t.match(gateway.backend, { scheme: 'tcp', host: '127.0.0.1', port: 8080 })
  t.equal(gateway.secret, undefined)
  t.equal(gateway.shutdownTimeoutMs, 10_000)
  t.same(origins.ORO_WEBSOCKET_SERVER_DSN, { kind: 'default' })
  t.same(origins.ORO_SECRET, { kind: 'unset' })
})

test('.env-app, then .env-app.local, then the environment, then flags', async (t) => {
  const cwd = appDir({
    '.env-app': 'ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8081\nORO_WEBSOCKET_FRONTEND_DSN=//*:8081/ws\nORO_SECRET=from-app\nOTHER=ignored\n',
    '.env-app.local': 'ORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:8082\n# a comment\nORO_WEBSOCKET_BACKEND_DSN="tcp://127.0.0.1:8082"\n'
  })
  const loaded = loadConfig({ env: { ORO_WEBSOCKET_BACKEND_DSN: 'tcp://127.0.0.1:8083' }, cwd, listen: { port: '8084' } })
  t.same(loaded.gateway.server, { enabled: true, host: '127.0.0.1', port: 8084, tls: null })
  t.equal(loaded.gateway.frontend.port, 8081)
  t.equal(loaded.gateway.backend.port, 8083)
  t.equal(loaded.gateway.secret, 'from-app')
  t.same(loaded.origins.ORO_WEBSOCKET_SERVER_DSN, { kind: 'file', file: join(cwd, '.env-app.local') })
  t.same(loaded.origins.ORO_WEBSOCKET_FRONTEND_DSN, { kind: 'file', file: join(cwd, '.env-app') })
  t.same(loaded.origins.ORO_WEBSOCKET_BACKEND_DSN, { kind: 'environment' })
})

test('--app-root reads the Oro application\'s files instead of the working directory\'s', async (t) => {
  const app = appDir({ '.env-app.local': 'ORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:9001\n' })
  const cwd = appDir({ '.env-app.local': 'ORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:9002\n' })
  t.equal(loadConfig({ env: {}, cwd, appRoot: app }).gateway.server.port, 9001)
  t.throws(() => loadConfig({ env: {}, cwd, appRoot: join(cwd, 'missing') }), { setting: /--app-root/, message: /does not exist/ })
})

test('an empty server host disables the server', async (t) => {
  const { gateway } = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//:8080' }, cwd: appDir({}) })
  t.equal(gateway.server.enabled, false)
})

const badValues: Array<[Record<string, string>, RegExp]> = [
  [{ ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:notaport' }, /^ORO_WEBSOCKET_SERVER_DSN = "\/\/127.0.0.1:notaport" has a port "notaport" that is not a number; for example ORO_WEBSOCKET_SERVER_DSN=\/\/0.0.0.0:8080$/],
  [{ ORO_WEBSOCKET_SERVER_DSN: '//0.0.0.0:99999' }, /^ORO_WEBSOCKET_SERVER_DSN .*outside 1-65535/],
  [{ ORO_WEBSOCKET_BACKEND_DSN: 'ftp://x:1' }, /^ORO_WEBSOCKET_BACKEND_DSN = "ftp:\/\/x:1" has scheme "ftp", expected tcp, ssl, tls/],
  [{ ORO_WEBSOCKET_FRONTEND_DSN: '//*:8080/ws?a[b=1' }, /^ORO_WEBSOCKET_FRONTEND_DSN .*unbalanced brackets/],
  [{ ORO_WEBSOCKET_SERVER_DSN: 'ssl://0.0.0.0:8080' }, /^ORO_WEBSOCKET_SERVER_DSN has scheme ssl:\/\/ but no context_options\[local_cert\]: a listener needs its certificate/],
  [{ ORO_WEBSOCKET_SERVER_DSN: 'wss://0.0.0.0:8080' }, /^ORO_WEBSOCKET_SERVER_DSN .*scheme "wss", expected tcp, ssl, tls/],
  [{ ORO_WEBSOCKET_SHUTDOWN_TIMEOUT: 'soon' }, /^ORO_WEBSOCKET_SHUTDOWN_TIMEOUT = "soon" must be integer; for example ORO_WEBSOCKET_SHUTDOWN_TIMEOUT=10$/],
  [{ ORO_WEBSOCKET_SHUTDOWN_TIMEOUT: '0' }, /must be >= 1/]
]

test('bad values name the variable, the problem and a right value', async (t) => {
  for (const [env, message] of badValues) {
    t.throws(() => loadConfig({ env, cwd: appDir({}) }), { code: 'GW_ERR_CONFIG_INVALID', message }, JSON.stringify(env))
  }
  const err = (() => { try { loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//x:y' }, cwd: appDir({}) }) } catch (e) { return e } })()
  t.type(err, ConfigError)
  t.match((err as ConfigError).line(), /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SERVER_DSN/)
  t.notMatch((err as ConfigError).line(), /\n/, 'one line')
})

test('a bad value in a file names the file', async (t) => {
  const cwd = appDir({ '.env-app.local': 'ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:http\n' })
  t.throws(() => loadConfig({ env: {}, cwd }), { message: new RegExp(`^ORO_WEBSOCKET_SERVER_DSN \\(in ${join(cwd, '.env-app.local').replace(/[.]/g, '\\.')}\\)`) })
})

test('--host and --port are checked', async (t) => {
  t.throws(() => loadConfig({ env: {}, cwd: appDir({}), listen: { port: '70000' } }), { name: 'ConfigError', setting: '--port' })
  t.throws(() => loadConfig({ env: {}, cwd: appDir({}), listen: { port: 'x' } }), { name: 'ConfigError', setting: '--port' })
  t.throws(() => loadConfig({ env: {}, cwd: appDir({}), listen: { host: '' } }), { name: 'ConfigError', setting: '--host' })
  t.same(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//:8080' }, cwd: appDir({}), listen: { host: '127.0.0.1' } }).gateway.server,
    { enabled: true, host: '127.0.0.1', port: 8080, tls: null }, '--host turns a disabled server on')
})

test('legacy parameters.yml with the websocket_host/port/path fallbacks', async (t) => {
  t.same(legacyDsns({
    websocket_bind_address: '0.0.0.0',
    websocket_bind_port: 8080,
    websocket_frontend_host: '*',
    websocket_frontend_port: 443,
    websocket_frontend_path: 'ws',
    websocket_backend_host: '*',
    websocket_backend_port: 8080,
    websocket_backend_path: ''
  }), {
    ORO_WEBSOCKET_SERVER_DSN: { value: '//0.0.0.0:8080/', keys: ['websocket_bind_address', 'websocket_bind_port'] },
    ORO_WEBSOCKET_FRONTEND_DSN: { value: '//*:443/ws', keys: ['websocket_frontend_host', 'websocket_frontend_port', 'websocket_frontend_path'] },
    ORO_WEBSOCKET_BACKEND_DSN: { value: 'tcp://127.0.0.1:8080/', keys: ['websocket_backend_host', 'websocket_backend_port'] }
  })
  const fallback = legacyDsns({ websocket_host: '10.0.0.5', websocket_port: 9000, websocket_path: 'socket', websocket_frontend_port: 443 })
  t.equal(fallback.ORO_WEBSOCKET_SERVER_DSN?.value, '//10.0.0.5:9000/')
  t.equal(fallback.ORO_WEBSOCKET_FRONTEND_DSN?.value, '//10.0.0.5:443/socket')
  t.equal(fallback.ORO_WEBSOCKET_BACKEND_DSN?.value, 'tcp://10.0.0.5:9000/socket')
  const tls = legacyDsns({ websocket_backend_transport: 'ssl', websocket_backend_port: 443, websocket_backend_ssl_context_options: { verify_peer: false } })
  t.equal(tls.ORO_WEBSOCKET_BACKEND_DSN?.value, 'ssl://127.0.0.1:443/?context_options[verify_peer]=false')
  t.same(legacyDsns({}), {})
  t.throws(() => legacyDsns({ websocket_bind_port: [1] }), { name: 'ConfigError', setting: /websocket_bind_port/ })
})

test('--parameters file feeds the DSNs and names its keys as the source', async (t) => {
  const cwd = appDir({
    'parameters.yml': 'parameters:\n    websocket_bind_address: 127.0.0.1\n    websocket_bind_port: 8085\n    websocket_backend_transport: ssl\n    websocket_backend_port: 443\n    websocket_backend_ssl_context_options: { verify_peer: false, verify_peer_name: false }\n',
    'broken.yml': 'parameters: [\n',
    'empty.yml': '# nothing\n'
  })
  const loaded = loadConfig({ env: {}, cwd, parametersFile: 'parameters.yml' })
  t.same(loaded.gateway.server, { enabled: true, host: '127.0.0.1', port: 8085, tls: null })
  t.match(loaded.gateway.backend, { scheme: 'ssl', port: 443, query: { context_options: { verify_peer: 'false', verify_peer_name: 'false' } } })
  t.same(loaded.origins.ORO_WEBSOCKET_SERVER_DSN, { kind: 'parameters', file: 'parameters.yml', keys: ['websocket_bind_address', 'websocket_bind_port'] })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'broken.yml' }), { setting: '--parameters broken.yml', message: /not valid YAML/ })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'empty.yml' }), { message: /no "parameters:" mapping/ })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'missing.yml' }), { message: new RegExp(`cannot be read \\(${join(cwd, 'missing.yml')}: ENOENT\\)`) }, 'names the absolute path it tried')
  t.equal(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8086' }, cwd, parametersFile: 'parameters.yml' }).gateway.server.port, 8086, 'the environment wins')
})

test('config output masks secrets and says where each value comes from', async (t) => {
  const cwd = appDir({ '.env-app.local': 'ORO_SECRET=s3cr3t-value\n' })
  const loaded = loadConfig({ env: { ORO_DB_URL: 'postgres://oro:dbpass@127.0.0.1:5432/oro?serverVersion=13' }, cwd })
  const text = renderConfig(loaded, false)
  t.notMatch(text, /s3cr3t-value/)
  t.notMatch(text, /dbpass/)
  t.match(text, /ORO_SECRET\s+\*\*\*\*\s+.*\.env-app\.local/)
  t.match(text, /ORO_DB_URL\s+postgres:\/\/oro:\*\*\*@127\.0\.0\.1:5432\/oro\?serverVersion=13\s+environment/)
  t.match(text, /ORO_WEBSOCKET_SERVER_DSN\s+\/\/0\.0\.0\.0:8080\s+default/)
  t.match(text, /browsers use:\s+ws:\/\/<page host>:8080\/ws/)
  const json = JSON.parse(renderConfig(loaded, true)) as { settings: Array<{ name: string, value: unknown, source: string }>, backend: string }
  t.match(json.settings.find((s) => s.name === 'ORO_SECRET'), { value: '****' })
  t.equal(json.backend, 'tcp://127.0.0.1:8080/')
  t.equal(maskSecret('ORO_SECRET', undefined), null)
})

test('$VAR references in the .env-app files, as Symfony resolves them', async (t) => {
  const cwd = appDir({
    '.env-app': 'DB_HOST=127.0.0.1\nORO_DB_URL=postgres://oro:${DB_PASSWORD:-none}@${DB_HOST}:5432/oro\nWS_PORT=8090\nORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:$WS_PORT\n',
    '.env-app.local': 'WS_PORT=8091\nORO_SECRET=pa\\$\\$word\nORO_WEBSOCKET_FRONTEND_DSN=//*:${UNDEFINED_PORT:-443}/ws\nA=$B\nB=$A\nORO_WEBSOCKET_TOPICS=${A}topics.yml\n'
  })
  const loaded = loadConfig({ env: { DB_PASSWORD: 'from-env' }, cwd })
  t.equal(loaded.settings.ORO_DB_URL, 'postgres://oro:from-env@127.0.0.1:5432/oro', 'the real environment first, then the files')
  t.equal(loaded.gateway.server.port, 8091, 'a later file\'s value is the one referenced')
  t.equal(loaded.gateway.frontend.port, 443, '${NAME:-default}')
  t.equal(loaded.settings.ORO_SECRET, 'pa$$word', '\\$ is a dollar')
  t.equal(loaded.settings.ORO_WEBSOCKET_TOPICS, 'topics.yml', 'a reference loop resolves to empty instead of hanging')
  t.same(loaded.origins.ORO_WEBSOCKET_SERVER_DSN, { kind: 'file', file: join(cwd, '.env-app') }, 'the source is the file that set the setting')
})

test('parameters.yml (Oro before 5.1) also gives ORO_SECRET and ORO_DB_URL, unless the environment sets them', async (t) => {
  const cwd = appDir({
    'parameters.yml': [
      'parameters:',
      '    database_driver: pdo_pgsql',
      '    database_host: db.internal',
      '    database_port: 6432',
      '    database_name: oro_crm',
      '    database_user: oro',
      "    database_password: 'p@ss:w/rd#?'",
      '    secret: ThisTokenIsNotSoSecretChangeIt',
      ''
    ].join('\n'),
    'mysql.yml': 'parameters:\n    database_driver: pdo_mysql\n    database_host: 127.0.0.1\n    database_port: null\n    database_name: oro\n    database_user: root\n    database_password: null\n',
    'sqlite.yml': 'parameters:\n    database_driver: pdo_sqlite\n    database_name: oro\n',
    'badport.yml': 'parameters:\n    database_driver: pdo_pgsql\n    database_name: oro\n    database_port: fivefour\n'
  })
  const loaded = loadConfig({ env: {}, cwd, parametersFile: 'parameters.yml' })
  t.equal(loaded.gateway.secret, 'ThisTokenIsNotSoSecretChangeIt')
  t.equal(loaded.settings.ORO_DB_URL, 'postgres://oro:p%40ss%3Aw%2Frd%23%3F@db.internal:6432/oro_crm', 'user and password percent-encoded')
  t.match(parseDatabaseUrl(loaded.settings.ORO_DB_URL as string), { driver: 'pg', host: 'db.internal', port: 6432, database: 'oro_crm', user: 'oro', password: 'p@ss:w/rd#?' }, 'the URL reads back to the same database')
  t.same(loaded.origins.ORO_SECRET, { kind: 'parameters', file: 'parameters.yml', keys: ['secret'] })
  t.same(loaded.origins.ORO_DB_URL, { kind: 'parameters', file: 'parameters.yml', keys: ['database_driver', 'database_host', 'database_port', 'database_name', 'database_user', 'database_password'] })
  t.notMatch(renderConfig(loaded, false), /p@ss|p%40ss|NotSoSecret/, 'config masks both')

  const env = loadConfig({ env: { ORO_SECRET: 'from-env', ORO_DB_URL: 'mysql://a:b@h/d' }, cwd, parametersFile: 'parameters.yml' })
  t.equal(env.gateway.secret, 'from-env', 'the environment wins')
  t.equal(env.gateway.databaseUrl, 'mysql://a:b@h/d')

  t.equal(loadConfig({ env: {}, cwd, parametersFile: 'mysql.yml' }).settings.ORO_DB_URL, 'mysql://root@127.0.0.1/oro', 'pdo_mysql; null port and password left out')
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'sqlite.yml' }), { setting: 'sqlite.yml: database_driver', message: /pdo_sqlite.*use pdo_pgsql or pdo_mysql/ })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'badport.yml' }), { setting: 'badport.yml: database_port', message: /"fivefour" is not a port number/ })
})

test('several problems in one configuration are reported together, one line each', async (t) => {
  const cwd = appDir({ '.env-app': 'ORO_WEBSOCKET_MAX_FRAME_BYTES=big\n' })
  const err = (() => {
    try {
      loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//x:y', ORO_WEBSOCKET_SHUTDOWN_TIMEOUT: 'soon', ORO_WEBSOCKET_BACKEND_NETWORKS: '10.0.0.0/40' }, cwd, listen: { port: '0' } })
    } catch (e) { return e }
  })()
  t.ok(err instanceof ConfigErrors, 'one error carrying them all')
  const lines = configErrorLines(err) ?? []
  t.equal(lines.length, 5, lines.join('\n'))
  for (const [i, setting] of ['ORO_WEBSOCKET_MAX_FRAME_BYTES (in', 'ORO_WEBSOCKET_SHUTDOWN_TIMEOUT', 'ORO_WEBSOCKET_SERVER_DSN', '--port', 'ORO_WEBSOCKET_BACKEND_NETWORKS'].entries()) {
    t.match(lines[i], new RegExp(`^GW_ERR_CONFIG_INVALID: invalid configuration: ${setting.replace(/[()]/g, '\\$&')}`))
  }
  t.notOk(lines.some((l) => l.includes('\n')), 'each one line')
  t.equal((err as ConfigErrors).code, 'GW_ERR_CONFIG_INVALID')
})

test('ConfigError takes its code from the one catalogue, and a single one is not taken for several', async (t) => {
  const one = new ConfigError('ORO_SECRET', 'is not set')
  t.ok(one instanceof GW_ERR_CONFIG_INVALID)
  t.equal(one.code, new GW_ERR_CONFIG_INVALID('x').code)
  t.equal(one.statusCode, 500)
  t.notOk(one instanceof ConfigErrors, '@fastify/error matches by code; ours by class')
  t.same(configErrorLines(one), ['GW_ERR_CONFIG_INVALID: invalid configuration: ORO_SECRET is not set'])
  t.equal(configErrorLines(new Error('x')), undefined)
})

test('with a mode, loadConfig checks what serve needs: ORO_SECRET in prod, ORO_DB_URL, topic files, drain delay', async (t) => {
  const cwd = appDir({})
  t.throws(() => loadConfig({ env: {}, cwd, mode: 'prod' }), { setting: 'ORO_SECRET', message: /--env=prod needs it/ })
  t.doesNotThrow(() => loadConfig({ env: {}, cwd, mode: 'dev' }), 'dev runs without a secret')
  t.doesNotThrow(() => loadConfig({ env: { ORO_DB_URL: 'nonsense' }, cwd }), 'without a mode only the settings are checked')
  const err = (() => {
    try {
      loadConfig({ env: { ORO_SECRET: 's', ORO_DB_URL: 'postgres://u:pw@h:5x/d', ORO_WEBSOCKET_TOPICS: 'missing.yml', ORO_WEBSOCKET_DRAIN_DELAY: '20' }, cwd, mode: 'prod' })
    } catch (e) { return e }
  })()
  const lines = configErrorLines(err) ?? []
  t.equal(lines.length, 3, lines.join('\n'))
  t.match(lines[0], /ORO_DB_URL has a port "5x" that is not a number/, 'a bad port is named as a port')
  t.match(lines[1], /ORO_WEBSOCKET_DRAIN_DELAY \(20 s\) must be shorter/)
  t.match(lines[2], new RegExp(`ORO_WEBSOCKET_TOPICS missing\\.yml cannot be read \\(${join(cwd, 'missing.yml')}: ENOENT\\)`), 'the absolute path tried')
  const ok = loadConfig({ env: { ORO_SECRET: 's' }, cwd, mode: 'prod' })
  t.ok((ok.topics?.rules.length ?? 0) > 0, 'the rules are loaded once, for the app to use')
})

test('relative paths in .env-app files resolve against --app-root; in the environment against the working directory', async (t) => {
  const rules = '- topic: acme/news\n  policy: public\n'
  const app = appDir({ '.env-app.local': 'ORO_WEBSOCKET_TOPICS=config/topics.yml\n' })
  mkdirSync(join(app, 'config'))
  writeFileSync(join(app, 'config', 'topics.yml'), rules)
  const elsewhere = appDir({})
  const loaded = loadConfig({ env: { ORO_SECRET: 's' }, cwd: elsewhere, appRoot: app, mode: 'prod' })
  t.equal(loaded.topicsFile, join(app, 'config', 'topics.yml'))
  t.ok(loaded.topics?.rules.some((r) => r.topic === 'acme/news'), 'the file was read from the app root')

  const fromEnv = loadConfig({ env: { ORO_WEBSOCKET_TOPICS: 'config/topics.yml' }, cwd: elsewhere, appRoot: app })
  t.equal(fromEnv.topicsFile, join(elsewhere, 'config', 'topics.yml'), 'the environment is relative to the working directory')
  t.throws(() => loadConfig({ env: { ORO_WEBSOCKET_TOPICS: 'config/topics.yml' }, cwd: elsewhere, appRoot: app, mode: 'dev' }),
    { message: new RegExp(`cannot be read \\(${join(elsewhere, 'config', 'topics.yml')}: ENOENT\\)`) })
  t.throws(() => loadConfig({ env: {}, cwd: elsewhere, appRoot: 'nope' }), { message: new RegExp(`does not exist \\(${join(elsewhere, 'nope')}\\)`) })
})

test('maskUrl hides passwords however they are written', async (t) => {
  const password = 'pa@ss:w/o?r#d'
  const cases: Array<[string, RegExp]> = [
    [`postgres://oro:${password}@db:5432/oro`, /^postgres:\/\/oro:\*\*\*@db:5432\/oro$/],
    [`postgres://oro:${encodeURIComponent(password)}@db/oro`, /^postgres:\/\/oro:\*\*\*@db\/oro$/],
    [`redis://:${password}@10.0.0.5:6379/0`, /^redis:\/\/\*\*\*@10\.0\.0\.5:6379\/0$/],
    [`redis://${password}@h`, /^redis:\/\/\*\*\*@h$/],
    [`mysql://root@h/d?password=${encodeURIComponent(password)}&charset=utf8`, /^mysql:\/\/\*\*\*@h\/d\?password=\*\*\*&charset=utf8$/],
    [`redis-sentinel://h1,h2/mymaster?sentinel_password=${encodeURIComponent(password)}`, /sentinel_password=\*\*\*$/],
    [`oro:${password}@h`, /^\*\*\*@h$/]
  ]
  for (const [url, shown] of cases) {
    const masked = maskUrl(url)
    t.match(masked, shown, url)
    for (const fragment of ['pa@ss', 'w/o', 'r#d', encodeURIComponent(password)]) t.notOk(masked.includes(fragment), `${url}: no ${fragment}`)
  }
  t.equal(maskSecretValue('ThisTokenIsNotSoSecretChangeIt'), '****')
  t.equal(maskUrl('memory://'), 'memory://')
})

test('publish hints: the example payload is valid for the topic named', async (t) => {
  const topics = ['oro/data/update', 'oro/maintenance', 'oro/outdated_user_page', 'oro/message_queue_heartbeat', 'oro/email_event/7/1',
    'oro/reminder_remind/7', 'oro/attribute_import/7/3', 'oro/imap_sync_fail/7', 'acme/news']
  for (const topic of topics) {
    const example = examplePayload(topic)
    t.equal(checkPayload(topic, JSON.parse(example)), null, `${topic}: ${example}`)
  }
  t.not(examplePayload('oro/maintenance'), examplePayload('oro/data/update'), 'each topic its own')
})

test('listen errors say what they are', async (t) => {
  t.match(describeListenError('EADDRINUSE', '', '0.0.0.0', 8080), /port 8080 is already in use/)
  t.match(describeListenError('ENOTFOUND', '', 'ws.invalid', 8080), /host name ws\.invalid cannot be resolved/)
  t.match(describeListenError('EADDRNOTAVAIL', '', '10.9.9.9', 8080), /10\.9\.9\.9 is not an address of this machine/)
  t.notMatch(describeListenError('ENOTFOUND', '', 'x', 1), /in use|free the port/)
})
