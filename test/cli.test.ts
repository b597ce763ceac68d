import { test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { cli, cliPath, freePort, startGateway, waitForHealthz } from './helpers/spawn-gateway.js'
import { canConnect } from './helpers/services.js'
import { connectWamp } from './helpers/wamp-client.js'

const PROD = { ORO_SECRET: 'test-secret', ORO_WEBSOCKET_PUBLISH_KEYS: 'test-key' }

test('listens where ORO_WEBSOCKET_SERVER_DSN says, and -p overrides the port', async (t) => {
  const port = await freePort()
  const gw = await startGateway({ env: { ...PROD, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}` }, args: ['-v'] }, t)
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200)
  const start = gw.logLines().find((l) => l.level === 'notice' && typeof l.msg === 'string' && l.msg.startsWith('oro-websocket-gateway listening'))
  t.match(start, { listen: `127.0.0.1:${port}`, frontend: 'ws://<page host>:8080/ws', backend: 'tcp://127.0.0.1:8080/' }, 'the start line says where it listens and the URLs clients use')

  // -p overrides the DSN's port: the DSN names a port nobody listens on, -p another.
  const [dsnPort, other] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, [cliPath, 'serve', '-q', '-p', String(other)], { env: { ...process.env, ...PROD, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${dsnPort}` }, stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  await waitForHealthz(`http://127.0.0.1:${other}/healthz`, 60_000)
  t.pass('-p PORT wins')
  t.notOk(await canConnect(dsnPort), 'nothing on the DSN\'s port')
})

test('bad configuration: exit 1 and one line naming the variable, before listening', async (t) => {
  const cases: Array<[Record<string, string>, string[], RegExp]> = [
    [{ ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:notaport' }, [], /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SERVER_DSN = "\/\/127\.0\.0\.1:notaport" has a port "notaport" that is not a number; for example ORO_WEBSOCKET_SERVER_DSN=\/\/0\.0\.0\.0:8080\n$/],
    [{ ORO_WEBSOCKET_SERVER_DSN: '//0.0.0.0:99999' }, [], /ORO_WEBSOCKET_SERVER_DSN .*outside 1-65535/],
    [{ ORO_WEBSOCKET_BACKEND_DSN: 'ftp://x:1' }, [], /ORO_WEBSOCKET_BACKEND_DSN .*scheme "ftp"/],
    [{ ORO_WEBSOCKET_FRONTEND_DSN: '//*:8080/ws?context_options[verify_peer=false' }, [], /ORO_WEBSOCKET_FRONTEND_DSN .*unbalanced brackets/],
    [{}, ['--env=staging'], /--env = "staging" is not prod or dev/],
    [{ ORO_SECRET: '' }, ['--env=prod'], /ORO_SECRET is not set/]
  ]
  for (const [env, args, line] of cases) {
    const port = await freePort()
    const result = await cli(['serve', ...args], { ORO_SECRET: 'test-secret', ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`, ...env })
    t.equal(result.code, 1, `${JSON.stringify(env)} ${args.join(' ')}: exit 1`)
    t.match(result.stderr, line)
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
  }
})

test('an empty SERVER DSN, or host, means "WebSocket is off": one line, exit 3, not a crash', async (t) => {
  const result = await cli(['serve'], { ORO_WEBSOCKET_SERVER_DSN: '//:8080' })
  t.equal(result.code, 3)
  t.equal(result.stderr, 'WebSocket is off: ORO_WEBSOCKET_SERVER_DSN in the environment ("//:8080") has an empty host, so there is no server to run (exit 3); ' +
    'to run the gateway set ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8080, ORO_WEBSOCKET_FRONTEND_DSN=//*:8080/ws and ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080 in .env-app.local or the environment (the Oro application reads the same)\n')
  t.equal(result.stdout, '')

  // Oro's stock .env-app: all three DSNs empty.
  const stock = fileURLToPath(new URL('fixtures/oro-app', import.meta.url))
  for (const args of [['serve', `--app-root=${stock}`], ['serve', '--env=prod', '-q', `--app-root=${stock}`]]) {
    const off = await cli(args, {})
    t.equal(off.code, 3, `${args.join(' ')}: exit 3`)
    t.equal(off.stderr.split('\n').length, 2, 'one line')
    t.match(off.stderr, new RegExp(`^WebSocket is off: ORO_WEBSOCKET_SERVER_DSN in ${stock}/\\.env-app is empty \\(as in Oro's stock \\.env-app\\), so there is no server to run \\(exit 3\\); to run the gateway set`))
  }
  const config = await cli(['config', `--app-root=${stock}`], {})
  t.equal(config.code, 0, `config reads it as off, without complaining of the empty FRONTEND and BACKEND DSNs ${config.stderr}`)
  t.match(config.stdout, /^listens on: +disabled/m)
  const frontendEmpty = await cli(['config'], { ORO_WEBSOCKET_FRONTEND_DSN: '' })
  t.match(frontendEmpty, { code: 1, stderr: /ORO_WEBSOCKET_FRONTEND_DSN = "" is empty/ }, 'with the server on, an empty FRONTEND DSN is still a problem')
})

test('SIGTERM: the WebSocket listener closes at once, exit 0; a second signal exits at once', async (t) => {
  const gw = await startGateway({ env: PROD, args: ['--drain-delay', '2'] }, t)
  const client = await connectWamp(gw.url.replace('http', 'ws') + '/ws', {}).catch(() => null)
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'ready before the signal')
  gw.child.kill('SIGTERM')
  // What the drain does in order (listener refused before sessions dropped, /readyz 503 on the
  // listeners that stay open): test/shutdown-listener.test.ts.
  const started = Date.now()
  const exit = await gw.exited
  t.equal(exit.code, 0, 'exit 0')
  t.ok(Date.now() - started < 10_000, 'within the shutdown timeout')
  t.ok(gw.logLines().some((l) => /shutting down: the WebSocket listener is closed/.test(String(l.msg))), 'the drain is logged')
  t.equal(client, null, 'a client without a ticket was refused in prod (no ticket given)')

  const gw2 = await startGateway({ env: PROD, args: ['--drain-delay', '5'] }, t)
  gw2.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  gw2.child.kill('SIGTERM')
  const exit2 = await gw2.exited
  t.equal(exit2.code, 1, 'the second signal exits at once (code 1)')
})

test('config prints every value with its source, secrets masked; exit 1 when invalid', async (t) => {
  const ok = await cli(['config'], { ORO_SECRET: 'super-secret-value', ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:9999' })
  t.equal(ok.code, 0)
  t.match(ok.stdout, /ORO_WEBSOCKET_SERVER_DSN\s+\/\/127\.0\.0\.1:9999\s+environment/)
  t.match(ok.stdout, /ORO_WEBSOCKET_FRONTEND_DSN\s+\/\/\*:8080\/ws\s+default/)
  t.notMatch(ok.stdout, /super-secret-value/)
  const bad = await cli(['config'], { ORO_WEBSOCKET_SERVER_DSN: '//x:y' })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SERVER_DSN/)
})

test('npm start\'s mode, then the publish command reaches a subscriber', async (t) => {
  const gw = await startGateway({ args: ['--env=dev', '-q'] }, t)
  const sub = await connectWamp(gw.url.replace('http', 'ws') + '/ws')
  t.teardown(() => sub.close())
  sub.subscribe('oro/data/update')
  await sub.sync()
  const ok = await cli(['publish', 'oro/data/update', '[{"username":null,"tagname":"X"}]'], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gw.port}` })
  t.equal(ok.code, 0, ok.stderr)
  t.same(JSON.parse(ok.stdout), { published: 1, recipients: 1 })
  t.same(await sub.waitForEvents(1), [[{ username: null, tagname: 'X' }]])
  t.match(gw.stderr(), /Development publish key/, 'the generated key was printed once')

  const bad = await cli(['publish', 'oro/maintenance', '{"isOn":"yes"}', '--url', `${gw.url}/publish`], {})
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^GW_ERR_PAYLOAD_SHAPE: /)
  const noData = await cli(['publish', 'oro/data/update', 'not json', '--url', `${gw.url}/publish`, '--key', 'x'])
  t.match(noData, { code: 1, stderr: /^GW_ERR_BODY_INVALID: DATA is not JSON/ })
  const wrongKey = await cli(['publish', 'oro/data/update', '[]', '--url', `${gw.url}/publish`, '--key', 'wrong'])
  t.match(wrongKey, { code: 1, stderr: /^GW_ERR_UNAUTHORIZED: / })
  const down = await cli(['publish', 'oro/data/update', '[]', '--url', `http://127.0.0.1:${await freePort()}/publish`, '--key', 'x'])
  t.match(down, { code: 1, stderr: /^GW_ERR_GATEWAY_UNREACHABLE: .*ECONNREFUSED/ })
})

test('npm start runs the gateway in development mode', async (t) => {
  const port = await freePort()
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_') && !k.startsWith('npm_')) clean[k] = v
  // --ignore-scripts skips prestart's build: npm test has built dist/ already, and rebuilding it
  // here would race the other tests that run it.
  const child = spawn('npm', ['start', '--ignore-scripts', '--silent'], { env: { ...clean, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  t.teardown(() => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} })
  await waitForHealthz(`http://127.0.0.1:${port}/healthz`, 60_000)
  t.pass('/healthz answers 200')
  process.kill(-(child.pid as number), 'SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  t.match(out, /"level":"warn".*ORO_SECRET is not set/, 'dev mode says loudly that tickets are not checked')
})

test('SIGHUP without TLS re-reads the topic rules and drops nobody (systemctl reload, supervisorctl signal HUP)', async (t) => {
  const gw = await startGateway({ args: ['--env=dev'] }, t)
  const sub = await connectWamp(gw.url.replace('http', 'ws') + '/ws')
  t.teardown(() => sub.close())
  sub.subscribe('oro/data/update')
  await sub.sync()
  gw.child.kill('SIGHUP')
  const deadline = Date.now() + 30_000
  const said = (): boolean => gw.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('topic rules reloaded (SIGHUP): 9 rules, 0 changed'))
  while (!said() && gw.child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(said(), 'the notice says the topic rules were read again, nothing changed')
  t.ok(gw.logLines().some((l) => l.msg === 'SIGHUP: re-reading the topic routing files; the gateway keeps running'), 'no certificate to reload')
  t.equal(gw.child.exitCode, null, 'the gateway is still running')
  const ok = await cli(['publish', 'oro/data/update', '[{"username":null,"tagname":"after HUP"}]'], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gw.port}` })
  t.equal(ok.code, 0, ok.stderr)
  t.same(await sub.waitForEvents(1), [[{ username: null, tagname: 'after HUP' }]], 'the session opened before SIGHUP still receives')
})
