// The deploy files say what the code does (issue 16, "Also"): the Dockerfile's HEALTHCHECK works
// with TLS on the SERVER DSN; no comment claims --env=prod needs ORO_WEBSOCKET_PUBLISH_KEYS while
// it starts without them; the systemd unit's and supervisord.conf's SIGHUP comments match what SIGHUP does (without TLS too;
// it re-reads the certificates and the topic routing files);
// the test files named in the deploy files and docs exist; exit 3 is not restarted by systemd.
import { test } from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFile } from 'node:child_process'
import { loadConfig } from '../src/config/load.js'
import { EXIT_SERVER_DISABLED } from '../server.js'
import { fingerprint, makeCertificates, opensslBinary } from './helpers/certificates.js'
import { httpsReady } from './helpers/tls-clients.js'
import { serviceOptions } from './helpers/services.js'
import { cliPath, freePort, startGateway, waitForHealthz } from './helpers/spawn-gateway.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string): string => readFileSync(join(repo, path), 'utf8')
const deployFiles = ['Dockerfile', ...readdirSync(join(repo, 'deploy'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(repo.length))]

/** The HEALTHCHECK's exec-form command, as the image runs it (in /app). */
function healthcheck (): string[] {
  const text = read('Dockerfile').replace(/\\\n/g, ' ')
  const line = /^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$/m.exec(text)
  if (line === null) throw new Error('no HEALTHCHECK ... CMD [...] in the Dockerfile')
  return JSON.parse(line[1] as string) as string[]
}

/** Runs it here: node is this Node.js, dist/ is this checkout's build. */
function runHealthcheck (env: Record<string, string>): Promise<{ code: number, output: string }> {
  const [node, script, ...args] = healthcheck()
  if (node !== 'node' || script !== 'dist/cli.js') throw new Error(`unexpected HEALTHCHECK ${String(node)} ${String(script)}`)
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd: repo, env: { ...clean, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), output: stdout + stderr })
    })
  })
}

test('the Dockerfile\'s HEALTHCHECK works with TLS on the SERVER DSN, and fails when nothing answers', serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl'), async (t) => {
  const c = makeCertificates()
  const port = await freePort()
  const env = { ORO_SECRET: 'deploy-files-secret', ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}` }
  const gw = await startGateway({ args: ['--env=prod'], env, scheme: 'https', ready: httpsReady(readFileSync(c.ca)), timeoutMs: 30_000 }, t)
  const ok = await runHealthcheck(env)
  t.equal(ok.code, 0, `healthy: ${ok.output}`)
  t.match(ok.output, new RegExp(`^https://127\\.0\\.0\\.1:${port}/healthz: 200 \\(the certificate of context_options\\[local_cert\\]\\)`), 'asked over https, pinned to local_cert')
  t.ok(fingerprint(c.server.cert).length > 0)
  await gw.stop()
  const down = await runHealthcheck(env)
  t.not(down.code, 0, 'unhealthy once it stopped')
})

test('a SERVER DSN with verify_peer=true: the HEALTHCHECK cannot pass, the Dockerfile\'s alternative (/healthz on ORO_WEBSOCKET_METRICS_LISTEN) does', serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl'), async (t) => {
  const alternative = /^#\s+(node -e ".*")$/m.exec(read('Dockerfile'))?.[1]
  t.ok(alternative !== undefined, 'the Dockerfile gives the command')
  const c = makeCertificates()
  const [port, metricsPort] = [await freePort(), await freePort()]
  const env = {
    ORO_SECRET: 'deploy-files-secret',
    ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=true&context_options[cafile]=${c.ca}`,
    ORO_WEBSOCKET_METRICS_LISTEN: `127.0.0.1:${metricsPort}`
  }
  await startGateway({ args: ['--env=prod'], env, scheme: 'https', ready: async (_url, ms, gaveUp) => { await waitForHealthz(`http://127.0.0.1:${metricsPort}/healthz`, ms, gaveUp) }, timeoutMs: 30_000 }, t)
  const refused = await runHealthcheck(env)
  t.not(refused.code, 0, `the image's HEALTHCHECK fails there: ${refused.output.trim()}`)
  const script = /^node -e "(.*)"$/.exec(alternative ?? '')?.[1] ?? ''
  const code = await new Promise<number>((resolve) => {
    execFile(process.execPath, ['-e', script.replace('9464', String(metricsPort))], { timeout: 20_000 }, (error) => { resolve(error === null ? 0 : Number((error as { code?: number }).code ?? 1)) })
  })
  t.equal(code, 0, 'the alternative passes')
})

test('comments about ORO_WEBSOCKET_PUBLISH_KEYS match --env=prod, which starts without them', async (t) => {
  t.doesNotThrow(() => loadConfig({ env: { ORO_SECRET: 'x' }, cwd: repo, mode: 'prod' }), 'prod needs ORO_SECRET only')
  for (const file of deployFiles) {
    const text = read(file)
    t.notMatch(text, /PUBLISH_KEYS[^\n]*\n?[^\n]*refuses to start without (them|it)|refuses to start without[^\n]*PUBLISH_KEYS/, `${file} does not claim publish keys are required`)
  }
  t.match(read('deploy/kubernetes/secret.example.yaml'), /Optional: keys for POST \/publish/)
})

test('the systemd unit\'s SIGHUP comment is what SIGHUP does without TLS: logged, the gateway keeps running', async (t) => {
  const unit = read('deploy/systemd/oro-websocket-gateway.service')
  t.match(unit, /With or without TLS, SIGHUP never stops the gateway: it logs what it re-reads and keeps running/)
  t.notMatch(unit, /does not handle SIGHUP|reload stops it/)
  t.match(unit, new RegExp(`^RestartPreventExitStatus=${EXIT_SERVER_DISABLED}$`, 'm'), 'exit 3 (WebSocket off) is not restarted')

  const gw = await startGateway({ args: ['--env=prod', '-v'], env: { ORO_SECRET: 'deploy-files-secret' } }, t)
  gw.child.kill('SIGHUP')
  const deadline = Date.now() + 30_000
  while (!gw.logLines().some((l) => l.signal === 'SIGHUP') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(gw.logLines().find((l) => l.signal === 'SIGHUP'), { level: 'notice', msg: /^SIGHUP: .*the gateway keeps running$/ })
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'still serving after SIGHUP')
  t.equal(gw.child.exitCode, null)
})

// What SIGHUP re-reads (server.ts, reloadOnSighup): the TLS certificates and every topic routing
// file; test/server-state.test.ts shows the routing files re-read by a running gateway.
const ROUTING_FILES = /websocket_routing\.yml[\s\S]*services\*\.yml[\s\S]*config\/oro\/websocket_routing\/[\s\S]*ORO_WEBSOCKET_TOPICS/

test('the Kubernetes Secret example applied unchanged: --env=prod refuses its placeholder publish key (GW_ERR_CONFIG_INVALID), dev takes it', async (t) => {
  const secret = read('deploy/kubernetes/secret.example.yaml')
  const placeholder = /^\s*ORO_WEBSOCKET_PUBLISH_KEYS:\s*"([^"]+)"/m.exec(secret)?.[1]
  t.equal(placeholder, 'change-me-to-a-long-random-key')
  t.match(secret, /--env=prod refuses to start with this placeholder/, 'the example says so')
  const env = { ORO_SECRET: 'deploy-files-secret', ORO_WEBSOCKET_PUBLISH_KEYS: `other-key-of-forty-characters-or-so-xyz, ${placeholder ?? ''}` }
  const refused = await new Promise<{ code: number, stderr: string }>((resolve) => {
    execFile(process.execPath, [cliPath, 'serve', '--env=prod'], { cwd: repo, env: { ...process.env, ...env }, timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stderr })
    })
  })
  t.equal(refused.code, 1, 'exit 1: a configuration problem')
  t.match(refused.stderr, /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_PUBLISH_KEYS holds the placeholder of deploy\/kubernetes\/secret\.example\.yaml .*openssl rand/m)
  t.doesNotThrow(() => loadConfig({ env, cwd: repo, mode: 'dev' }), 'dev mode takes it (a trial)')
  t.doesNotThrow(() => loadConfig({ env: { ...env, ORO_WEBSOCKET_PUBLISH_KEYS: 'a-real-key-Zk3q9' }, cwd: repo, mode: 'prod' }), 'prod takes another key')
})

test('the systemd unit and supervisord.conf say SIGHUP re-reads the TLS certificates and the topic routing files', async (t) => {
  const unit = read('deploy/systemd/oro-websocket-gateway.service')
  const reload = /^# `systemctl reload`[\s\S]*?^ExecReload=/m.exec(unit)?.[0] ?? ''
  t.match(reload, /certificates/, 'the unit: certificates')
  t.match(reload, ROUTING_FILES, 'the unit: the bundles\' websocket_routing.yml and services*.yml, config/oro/websocket_routing/, ORO_WEBSOCKET_TOPICS')
  const supervisord = read('deploy/supervisord.conf')
  const program = /^\[program:([\w-]+)\]/m.exec(supervisord)?.[1]
  t.equal(program, 'oro_web_socket')
  t.match(supervisord, new RegExp(`supervisorctl signal HUP '?${program ?? 'none'}:\\*'?`), 'supervisord.conf: how to send it, to every node of the program')
  t.match(supervisord, /certificates/, 'supervisord.conf: certificates')
  t.match(supervisord, ROUTING_FILES, 'supervisord.conf: the routing files')
})

test('the test files the deploy files, README and docs name exist', async (t) => {
  const texts = [...deployFiles, 'README.md', ...readdirSync(join(repo, 'docs')).map((f) => `docs/${f}`)]
  let named = 0
  for (const file of texts) {
    for (const match of read(file).matchAll(/\btest\/[\w./-]+?\.test\.ts\b/g)) {
      named++
      t.ok(existsSync(join(repo, match[0])), `${file} names ${match[0]}`)
    }
  }
  t.ok(named > 10, `${named} mentions checked`)
})
