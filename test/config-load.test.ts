import { test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load.js'
import { ConfigError } from '../src/config/errors.js'
import { legacyDsns } from '../src/config/parameters-yml.js'
import { renderConfig, maskSecret } from '../src/cli/config-command.js'

function appDir (files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

test('defaults are Oro\'s', async (t) => {
  const { gateway, origins } = loadConfig({ env: {}, cwd: appDir({}) })
  t.same(gateway.server, { enabled: true, host: '0.0.0.0', port: 8080 })
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
  t.same(loaded.gateway.server, { enabled: true, host: '127.0.0.1', port: 8084 })
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
  [{ ORO_WEBSOCKET_SERVER_DSN: 'ssl://0.0.0.0:8080' }, /^ORO_WEBSOCKET_SERVER_DSN .*scheme "ssl", expected tcp/],
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
    { enabled: true, host: '127.0.0.1', port: 8080 }, '--host turns a disabled server on')
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
  t.same(loaded.gateway.server, { enabled: true, host: '127.0.0.1', port: 8085 })
  t.match(loaded.gateway.backend, { scheme: 'ssl', port: 443, query: { context_options: { verify_peer: 'false', verify_peer_name: 'false' } } })
  t.same(loaded.origins.ORO_WEBSOCKET_SERVER_DSN, { kind: 'parameters', file: 'parameters.yml', keys: ['websocket_bind_address', 'websocket_bind_port'] })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'broken.yml' }), { setting: '--parameters broken.yml', message: /not valid YAML/ })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'empty.yml' }), { message: /no "parameters:" mapping/ })
  t.throws(() => loadConfig({ env: {}, cwd, parametersFile: 'missing.yml' }), { message: /cannot be read \(ENOENT\)/ })
  t.equal(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8086' }, cwd, parametersFile: 'parameters.yml' }).gateway.server.port, 8086, 'the environment wins')
})

test('config output masks secrets and says where each value comes from', async (t) => {
  const cwd = appDir({ '.env-app.local': 'ORO_SECRET=s3cr3t-value\n' })
  const loaded = loadConfig({ env: { ORO_DB_URL: 'postgres://oro:dbpass@127.0.0.1:5432/oro?serverVersion=13' }, cwd })
  const text = renderConfig(loaded, false)
  t.notMatch(text, /s3cr3t-value/)
  t.notMatch(text, /dbpass/)
  t.match(text, /ORO_SECRET\s+\*\*\*\*\s+.*\.env-app\.local/)
  t.match(text, /ORO_DB_URL\s+postgres:\/\/oro:\*\*\*\*@127\.0\.0\.1:5432\/oro\?serverVersion=13\s+environment/)
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
