// deploy/systemd/oro-websocket-gateway.service: `systemd-analyze verify` accepts it (with the
// install paths pointed at this checkout), its key options are there, its commands are the
// README's, and its start sequence works: ExecStart, then ExecStartPost's `wait-ready` returns
// once the gateway answers; SIGTERM stops it within TimeoutStopSec. With TLS on the SERVER DSN,
// wait-ready asks over https pinning the configured certificate, and ExecReload (SIGHUP) swaps a
// renewed certificate in.
import { test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { settingSchema } from '../src/config/schema.js'
import { findBinary, freePort, serviceOptions } from './helpers/services.js'
import { cliPath } from './helpers/spawn-gateway.js'
import { fingerprint, makeCertificates, opensslBinary } from './helpers/certificates.js'
import { httpsRequest, waitForLog } from './helpers/tls-clients.js'

const run = promisify(execFile)
const unitFile = new URL('../deploy/systemd/oro-websocket-gateway.service', import.meta.url)
const unitText = readFileSync(unitFile, 'utf8')
const repo = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const systemdAnalyze = findBinary('systemd-analyze')
const INSTALL = '/opt/oro-websocket-gateway'
const APP_ROOT = '/usr/share/nginx/html/oroapp'

/** [section, key, value] for every assignment, in order (systemd allows repeated keys). */
function parseUnit (text: string): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = []
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) { section = header[1] as string; continue }
    const eq = line.indexOf('=')
    if (eq === -1) throw new Error(`not an assignment: ${line}`)
    out.push([section, line.slice(0, eq).trim(), line.slice(eq + 1).trim()])
  }
  return out
}

const entries = parseUnit(unitText)
const get = (section: string, key: string): string | undefined => entries.filter(([s, k]) => s === section && k === key).at(-1)?.[2]
const seconds = (value: string | undefined): number => Number(/^(\d+)s?$/.exec(value ?? '')?.[1] ?? NaN)

/** The unit with its install paths pointed at this checkout and at this Node. */
function localUnit (appRoot: string): string {
  return unitText.replaceAll('/usr/bin/node', process.execPath).replaceAll(INSTALL, repo).replaceAll(APP_ROOT, appRoot)
}

test('the key options', async (t) => {
  t.equal(get('Service', 'Type'), 'exec')
  t.equal(get('Service', 'ExecReload'), '/bin/kill -HUP $MAINPID', 'systemctl reload: SIGHUP, which reloads the TLS certificates')
  t.match(get('Service', 'ExecStartPost'), / wait-ready /, 'readiness: ExecStartPost waits for the gateway')
  for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['PrivateDevices', 'yes'],
    ['RestrictSUIDSGID', 'yes'], ['CapabilityBoundingSet', ''], ['KillSignal', 'SIGTERM'], ['Restart', 'always']]) {
    t.equal(get('Service', key as string), value, `${key as string}=${value as string}`)
  }
  t.not(get('Service', 'MemoryDenyWriteExecute'), 'yes', 'V8\'s JIT needs writable executable memory')
  const shutdown = Number(settingSchema('ORO_WEBSOCKET_SHUTDOWN_TIMEOUT').default)
  t.ok(seconds(get('Service', 'TimeoutStopSec')) > shutdown, `TimeoutStopSec ${get('Service', 'TimeoutStopSec') ?? ''} > the shutdown timeout (${shutdown} s)`)
  const waitTimeout = Number(/--timeout=(\d+)/.exec(get('Service', 'ExecStartPost') ?? '')?.[1])
  t.ok(waitTimeout < seconds(get('Service', 'TimeoutStartSec')), 'wait-ready gives up before systemd does')
  t.ok(Number(get('Service', 'LimitNOFILE')) >= 65536, 'room for many sessions')
})

test('ExecStart and the paths are the README\'s', async (t) => {
  const execStart = get('Service', 'ExecStart') ?? ''
  t.equal(execStart, `/usr/bin/node ${INSTALL}/dist/cli.js serve --env=prod --app-root=${APP_ROOT}`)
  t.equal(get('Service', 'WorkingDirectory'), INSTALL)
  t.ok(readme.includes(`node ${INSTALL}/dist/cli.js serve --env=prod`), 'the README installs the gateway where the unit runs it')
  t.ok(readme.includes(`--app-root=${APP_ROOT}`), 'with the same application root')
  t.ok(readme.includes('deploy/systemd/oro-websocket-gateway.service'), 'the README links the unit')
  const bin = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> }).bin['oro-websocket-gateway']
  t.ok(execStart.includes(`${INSTALL}/${bin ?? '?'}`), 'the built CLI the package declares')
  t.equal(get('Install', 'WantedBy'), 'multi-user.target')
})

test('systemd-analyze verify accepts it, and notices a broken copy', serviceOptions(systemdAnalyze !== undefined, 'systemd-analyze', 'apt-get install systemd'), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-systemd-'))
  const verify = async (text: string): Promise<{ code: number, output: string }> => {
    const file = join(dir, 'oro-websocket-gateway.service')
    writeFileSync(file, text)
    return await run(systemdAnalyze as string, ['verify', file], { cwd: dir })
      .then((r) => ({ code: 0, output: r.stdout + r.stderr }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
  }
  const good = await verify(localUnit(dir))
  t.equal(good.code, 0, good.output)
  t.notMatch(good.output, /oro-websocket-gateway\.service/, `no warning about the unit: ${good.output}`)
  const typo = await verify(localUnit(dir).replace('ProtectSystem=strict', 'ProtectSytem=strict'))
  t.match(typo.output, /Unknown key 'ProtectSytem'/, 'a misspelled option is reported')
  const missing = await verify(localUnit(dir).replace(process.execPath, '/nonexistent/node'))
  t.not(missing.code, 0, 'a missing executable fails verify')
  const reload = await verify(localUnit(dir).replace('ExecReload=/bin/kill', 'ExecReload=/nonexistent/kill'))
  t.not(reload.code, 0, 'verify checks ExecReload\'s executable too (so the good verdict covers it)')
})

/** The unit made for appRoot, its Service commands split into argv, the environment without ORO_* and its directory. */
function unitRunner (appRoot: string): { unit: ReturnType<typeof parseUnit>, command: (key: string) => string[], env: Record<string, string>, cwd: string } {
  const unit = parseUnit(localUnit(appRoot))
  const command = (key: string): string[] => (unit.find(([s, k]) => s === 'Service' && k === key)?.[2] ?? '').split(' ')
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) env[k] = v
  const cwd = unit.find(([, k]) => k === 'WorkingDirectory')?.[2] ?? repo
  return { unit, command, env, cwd }
}

test('the start sequence: ExecStart, then ExecStartPost returns once the gateway answers; SIGTERM stops it in time', async (t) => {
  t.ok(existsSync(cliPath), 'the CLI is built')
  const appRoot = mkdtempSync(join(tmpdir(), 'gw-systemd-app-'))
  const port = await freePort()
  writeFileSync(join(appRoot, '.env-app.local'), `ORO_SECRET=systemd-test-secret\nORO_WEBSOCKET_PUBLISH_KEYS=k\nORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:${port}\n`)
  const { unit, command, env, cwd } = unitRunner(appRoot)

  const [node, ...args] = command('ExecStart')
  const gateway = spawn(node as string, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  gateway.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => gateway.once('close', (code) => resolve(code)))
  t.teardown(() => { gateway.kill('SIGKILL') })

  const [postNode, ...postArgs] = command('ExecStartPost')
  const post = await run(postNode as string, postArgs, { cwd, env }).then((r) => ({ code: 0, out: r.stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }))
  t.equal(post.code, 0, `ExecStartPost succeeded: ${post.out}${stderr}`)
  t.match(post.out, new RegExp(`http://127\\.0\\.0\\.1:${port}/healthz: 200`))
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the gateway serves once the unit is active')

  const stopBudget = seconds(unit.find(([, k]) => k === 'TimeoutStopSec')?.[2]) * 1000
  gateway.kill('SIGTERM')
  const timer = setTimeout(() => gateway.kill('SIGKILL'), stopBudget)
  t.equal(await exited, 0, 'SIGTERM: exit 0 within TimeoutStopSec')
  clearTimeout(timer)
})

test('wait-ready gives up with exit 1 and the reason when nothing answers', async (t) => {
  const port = await freePort()
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ORO_WEBSOCKET_SERVER_DSN: `//0.0.0.0:${port}` }
  const result = await run(process.execPath, [cliPath, 'wait-ready', '--timeout=0.5'], { env }).then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^GW_ERR_GATEWAY_UNREACHABLE: the gateway at http://127\\.0\\.0\\.1:${port}/healthz did not answer 200 within 0\\.5 s \\(last: ECONNREFUSED\\)`))
})

test('TLS: ExecStartPost\'s wait-ready asks over https for the certificate of local_cert; ExecReload swaps in a renewed one', serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl'), async (t) => {
  const c = makeCertificates()
  const live = { cert: join(c.dir, 'live.crt'), key: join(c.dir, 'live.key') }
  copyFileSync(c.server.cert, live.cert)
  copyFileSync(c.server.key, live.key)
  const appRoot = mkdtempSync(join(tmpdir(), 'gw-systemd-tls-'))
  const port = await freePort()
  const tlsDsn = (cert: string, key: string): string => `//127.0.0.1:${port}?context_options[local_cert]=${cert}&context_options[local_pk]=${key}`
  writeFileSync(join(appRoot, '.env-app.local'), `ORO_SECRET=systemd-test-secret\nORO_WEBSOCKET_SERVER_DSN=${tlsDsn(live.cert, live.key)}\n`)
  const { unit, command, env, cwd } = unitRunner(appRoot)

  const [node, ...args] = command('ExecStart')
  const gateway = spawn(node as string, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  gateway.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  gateway.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  t.teardown(() => { gateway.kill('SIGKILL') })
  const logLines = (): Array<Record<string, unknown>> => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

  const [postNode, ...postArgs] = command('ExecStartPost')
  const post = await run(postNode as string, postArgs, { cwd, env }).then((r) => ({ code: 0, out: r.stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }))
  t.equal(post.code, 0, `ExecStartPost succeeded over TLS: ${post.out}${stderr}`)
  t.match(post.out, new RegExp(`^https://127\\.0\\.0\\.1:${port}/healthz: 200 \\(the certificate of context_options\\[local_cert\\]\\)`))

  // The pin is checked: a configuration whose local_cert is another certificate does not accept this gateway.
  const other = await run(process.execPath, [cliPath, 'wait-ready', '--timeout=3'], { env: { ...env, ORO_WEBSOCKET_SERVER_DSN: tlsDsn(c.selfSigned.cert, c.selfSigned.key) } })
    .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
  t.equal(other.code, 1, 'another certificate on the port: not ready')
  t.match(other.stderr, /GW_ERR_GATEWAY_UNREACHABLE: .*https:\/\/127\.0\.0\.1:\d+\/healthz .*the certificate served \(SHA-256 [0-9A-F:]+\) is not the one in context_options\[local_cert\]/)

  // systemctl reload: ExecReload with $MAINPID, after the renewal's files are in place.
  copyFileSync(c.renewed.cert, live.cert)
  copyFileSync(c.renewed.key, live.key)
  const [kill, ...killArgs] = command('ExecReload').map((word) => word === '$MAINPID' ? String(gateway.pid) : word)
  await run(kill as string, killArgs)
  const reloaded = await waitForLog(logLines, (l) => l.fingerprint256 === fingerprint(c.renewed.cert), 'naming the renewed certificate')
  t.equal(reloaded.listener, 'websocket')
  const answer = await httpsRequest(`https://localhost:${port}/healthz`, { ca: readFileSync(c.ca) })
  t.equal(answer.peer.fingerprint256, fingerprint(c.renewed.cert), 'the renewed certificate is served after the reload')
  t.equal(gateway.exitCode, null, 'the gateway still runs')
  const again = await run(postNode as string, postArgs, { cwd, env }).then((r) => r.stdout, (err: { stdout: string, stderr: string }) => err.stdout + err.stderr)
  t.match(again, /healthz: 200/, 'wait-ready, reading the renewed local_cert, pins the renewed certificate')
})

test('wait-ready: unexpected arguments are a usage mistake (exit 2)', async (t) => {
  const result = await run(process.execPath, [cliPath, 'wait-ready', 'extra'], { env: { PATH: process.env.PATH ?? '' } }).then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
  t.equal(result.code, 2)
  t.match(result.stderr, /^GW_ERR_USAGE: unexpected arguments: extra; for example oro-websocket-gateway wait-ready/)
})
