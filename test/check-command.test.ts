// `oro-websocket-gateway check`, the doctor, against real gateways behind real nginx (blocks from
// `oro-websocket-gateway nginx`): all good exits 0; each thing broken on
// purpose prints its failing line with the fix and exits 1.
import { test } from 'tap'
import { nginxBinary } from './helpers/nginx.js'
import { serviceOptions } from './helpers/services.js'
import { startApp } from './helpers/app.js'
import { doctor, line, ORIGIN, SECRET, site } from './helpers/doctor.js'

const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')

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


test('unexpected arguments are a usage mistake (exit 2), not a configuration problem', async (t) => {
  const result = await doctor({}, ['extra'])
  t.equal(result.code, 2)
  t.match(result.stderr, /^GW_ERR_USAGE: unexpected arguments: extra; for example oro-websocket-gateway check --url/)
})
