// `oro-websocket-gateway nginx`: every variant it prints passes `nginx -t`, and a real nginx run
// with it carries a WAMP session (WELCOME) to real gateways and answers 404 below the location.
// A gateway with TLS of its own is forwarded to over https://: unchecked on loopback, checked
// against --proxy-ssl-trusted-certificate (a wrong CA gives 502), required for another host.
import { test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import WebSocket from 'ws'
import { buildApp } from '../app.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { splitNginx } from '../src/cli/nginx-config.js'
import { nginxBinary } from './helpers/nginx.js'
import { findBinary, freePort, serviceOptions } from './helpers/services.js'
import { runNginx } from './helpers/nginx-run.js'
import { cliPath } from './helpers/spawn-gateway.js'
import { TEST_ORIGIN } from './helpers/wamp-client.js'
import { makeCertificates } from './helpers/certificates.js'

const run = promisify(execFile)
const openssl = findBinary('openssl')
const needsNginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')
const needsBoth = serviceOptions(nginxBinary !== undefined && openssl !== undefined, 'nginx and openssl', 'apt-get install nginx openssl')

interface Teardown { teardown (fn: () => unknown): void }

async function printed (args: string[], env: Record<string, string>): Promise<string> {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  const { stdout } = await run(process.execPath, [cliPath, 'nginx', ...args], { env: { ...clean, ...env } })
  return stdout
}

/** N gateway nodes in this process, on consecutive ports (what `--upstream N` assumes). */
async function startNodes (t: Teardown, count: number, dsnQuery = ''): Promise<{ port: number, upgrades: () => number }[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = await freePort()
    const nodes: Array<{ port: number, upgrades: () => number }> = []
    try {
      for (let i = 0; i < count; i++) {
        const loaded = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${base + i}${dsnQuery}`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml' }, cwd: process.cwd() })
        const logger = createLogger({ mode: 'dev', level: 'error', pretty: false, destination: new Writable({ write (_c, _e, cb) { cb() } }) })
        const app = await buildApp({ loaded, mode: 'dev', logger })
        t.teardown(() => app.close())
        let upgrades = 0
        app.server.on('upgrade', () => { upgrades++ })
        await app.listen({ host: '127.0.0.1', port: base + i })
        nodes.push({ port: base + i, upgrades: () => upgrades })
      }
      return nodes
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE') throw err
    }
  }
  throw new Error(`no ${count} consecutive free ports`)
}

function welcome (url: string, ca?: Buffer): Promise<{ frame: unknown[], protocol: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp'], { headers: { Origin: TEST_ORIGIN }, perMessageDeflate: false, ...(ca !== undefined ? { ca } : {}) })
    ws.once('unexpected-response', (_req, res) => { ws.terminate(); reject(new Error(`HTTP ${res.statusCode ?? 0}`)) })
    ws.once('error', reject)
    ws.once('message', (data) => { resolve({ frame: JSON.parse(data.toString()) as unknown[], protocol: ws.protocol }); ws.terminate() })
  })
}

function statusOf (url: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(ca !== undefined ? { ca } : {}) }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', reject)
    req.end('{}')
  })
}

test('the printed blocks follow the DSNs', async (t) => {
  const text = await printed([], { ORO_WEBSOCKET_SERVER_DSN: '//0.0.0.0:9001', ORO_WEBSOCKET_FRONTEND_DSN: '//*:443/realtime' })
  t.match(text, /location \/realtime \{/, 'the FRONTEND DSN\'s path is the location')
  t.match(text, /location ~ \^\/realtime\.\+ \{ return 404; \}/, 'with the guard below it')
  t.match(text, /proxy_pass http:\/\/127\.0\.0\.1:9001\/\$is_args\$args;/, 'the SERVER DSN\'s port, on loopback for 0.0.0.0')
  for (const line of ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection "upgrade";', 'proxy_http_version 1.1;', 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', 'proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_read_timeout 86400;']) {
    t.ok(text.includes(line), line)
  }
  t.notMatch(text, /upstream|listen/, 'one node, no TLS: only the locations')
  const three = await printed(['--upstream', '3'], { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8081' })
  t.match(three, /upstream oro_websocket \{[^}]*server 127\.0\.0\.1:8081 [^}]*server 127\.0\.0\.1:8082 [^}]*server 127\.0\.0\.1:8083 /)
  t.match(three, /proxy_pass http:\/\/oro_websocket\/\$is_args\$args;/)
  // A draining node refuses connections (error) and answers 503 to the upgrades it held: the next
  // node takes them (a GET before its 101 is safe to resend); a 429 is not (a fresh budget per node).
  t.match(three, /proxy_next_upstream error timeout http_502 http_503;/, 'a draining or down node\'s upgrades go to the next node')
  t.notMatch(three, /http_429/, 'a 429 is not tried on another node')

  const failure = await run(process.execPath, [cliPath, 'nginx'], { env: { PATH: process.env.PATH ?? '', ORO_WEBSOCKET_FRONTEND_DSN: '//*:443' } }).then(() => '', (err: { stderr: string }) => err.stderr)
  t.match(failure, /^GW_ERR_CONFIG_INVALID: .*ORO_WEBSOCKET_FRONTEND_DSN = has no path.*\/\/\*:443\/ws/, 'a FRONTEND DSN without a path is refused with the fix')
  const bad = await run(process.execPath, [cliPath, 'nginx', '--upstream', 'x'], { env: { PATH: process.env.PATH ?? '' } }).then(() => '', (err: { stderr: string }) => err.stderr)
  t.match(bad, /--upstream = "x" is not a number of nodes/)
})

for (const nodes of [1, 2]) {
  test(`nginx --upstream ${nodes}: nginx -t, a WAMP session through it, /wspublish closed`, needsNginx, async (t) => {
    const gateways = await startNodes(t, nodes)
    const nginxPort = await freePort()
    const text = await printed(['--upstream', String(nodes)], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateways[0]?.port ?? 0}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${nginxPort}/ws` })
    const verdict = await runNginx(t, text, nginxPort)
    t.match(verdict, /syntax is ok[\s\S]*test is successful/, 'nginx -t accepts it')

    const sessions = await Promise.all(Array.from({ length: nodes }, async () => await welcome(`ws://127.0.0.1:${nginxPort}/ws?ticket=x`)))
    for (const s of sessions) {
      t.equal(s.frame[0], 0, 'WELCOME through nginx')
      t.equal(s.protocol, 'wamp')
    }
    t.same(gateways.map((g) => g.upgrades()), gateways.map(() => 1), 'each node took one upgrade (least_conn)')
    t.equal(await statusOf(`http://127.0.0.1:${nginxPort}/wspublish`), 404, '/wspublish is closed')
    t.equal(await statusOf(`http://127.0.0.1:${nginxPort}/wsmetrics`), 404, '/wsmetrics is closed')
  })
}

test('nginx --tls: the TLS server block passes nginx -t and carries wss:// with a self-signed certificate', needsBoth, async (t) => {
  const [gateway] = await startNodes(t, 1)
  const dir = mkdtempSync(join(tmpdir(), 'gw-nginx-tls-'))
  execFileSync(openssl as string, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'site.key'), '-out', join(dir, 'site.crt')], { stdio: 'ignore' })
  const ca = execFileSync('cat', [join(dir, 'site.crt')])
  const tlsPort = await freePort()
  const text = await printed(['--tls', '--server-name', 'localhost', '--ssl-certificate', join(dir, 'site.crt'), '--ssl-certificate-key', join(dir, 'site.key')],
    { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway?.port ?? 0}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${tlsPort}/ws` })
  t.match(text, new RegExp(`listen ${tlsPort} ssl;`), 'listens on the FRONTEND DSN\'s port with ssl')
  t.equal(splitNginx(text).server, '', 'everything is in the server block it prints')
  const verdict = await runNginx(t, text, tlsPort, dir)
  t.match(verdict, /syntax is ok[\s\S]*test is successful/, 'nginx -t accepts it')
  const session = await welcome(`wss://localhost:${tlsPort}/ws?ticket=x`, ca)
  t.equal(session.frame[0], 0, 'WELCOME over wss://, trusting the test certificate')
  await t.rejects(welcome(`wss://localhost:${tlsPort}/ws?ticket=x`), 'without trusting it, the connection fails (so the certificate is really checked)')
  t.equal(await statusOf(`https://localhost:${tlsPort}/wspublish`, ca), 404, '/wspublish is closed')
})

async function failure (args: string[], env: Record<string, string>): Promise<{ code: number, stderr: string }> {
  return await run(process.execPath, [cliPath, 'nginx', ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => ({ code: err.code, stderr: err.stderr }))
}

test('unexpected arguments are a usage mistake (exit 2)', async (t) => {
  const result = await failure(['extra'], {})
  t.equal(result.code, 2)
  t.match(result.stderr, /^GW_ERR_USAGE: unexpected arguments: extra; for example oro-websocket-gateway nginx/)
})

test('a gateway with TLS of its own: proxy_pass https://, unchecked on loopback, checked with a CA; a wrong CA gives 502', needsBoth, async (t) => {
  const c = makeCertificates()
  const tlsQuery = `?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}`
  const [gateway] = await startNodes(t, 1, tlsQuery)
  const port = gateway?.port ?? 0

  const loopback = await freePort()
  const unchecked = await printed([], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}${tlsQuery}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${loopback}/ws` })
  t.match(unchecked, new RegExp(`proxy_pass https://127\\.0\\.0\\.1:${port}/\\$is_args\\$args;`), 'https:// to the gateway')
  t.match(unchecked, /proxy_ssl_verify off;/, 'on loopback the certificate is not checked (and the block says how to)')
  t.match(unchecked, /--proxy-ssl-trusted-certificate/)
  t.match(await runNginx(t, unchecked, loopback), /syntax is ok[\s\S]*test is successful/, 'nginx -t accepts it')
  t.equal((await welcome(`ws://127.0.0.1:${loopback}/ws?ticket=x`)).frame[0], 0, 'WELCOME through nginx from the TLS gateway')
  t.equal(await statusOf(`http://127.0.0.1:${loopback}/wspublish`), 404, '/wspublish is closed')

  const verifying = await freePort()
  const checked = await printed(['--proxy-ssl-trusted-certificate', c.ca], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}${tlsQuery}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${verifying}/ws` })
  for (const line of ['proxy_ssl_verify on;', `proxy_ssl_trusted_certificate ${c.ca};`, 'proxy_ssl_name localhost;', 'proxy_ssl_server_name on;']) t.ok(checked.includes(line), line)
  t.match(await runNginx(t, checked, verifying), /syntax is ok[\s\S]*test is successful/)
  t.equal((await welcome(`ws://127.0.0.1:${verifying}/ws?ticket=x`)).frame[0], 0, 'WELCOME with the gateway\'s certificate checked against the CA')

  const wrongPort = await freePort()
  const wrong = await printed(['--proxy-ssl-trusted-certificate', c.selfSigned.cert], { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}${tlsQuery}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${wrongPort}/ws` })
  await runNginx(t, wrong, wrongPort)
  await t.rejects(welcome(`ws://127.0.0.1:${wrongPort}/ws?ticket=x`), /HTTP 502/, 'a CA that did not sign the gateway\'s certificate: nginx refuses it (so it is really checked)')

  const remote = await failure([], { ORO_WEBSOCKET_SERVER_DSN: `//10.0.0.5:8443${tlsQuery}` })
  t.equal(remote.code, 2, 'TLS on another host without a CA to check it: a usage mistake')
  t.match(remote.stderr, /^GW_ERR_USAGE: the gateway at 10\.0\.0\.5:8443 serves TLS .* --proxy-ssl-trusted-certificate/)
  const named = await printed(['--proxy-ssl-trusted-certificate', c.ca, '--proxy-ssl-name', 'ws.example.com', '--upstream', '2'], { ORO_WEBSOCKET_SERVER_DSN: `//10.0.0.5:8443${tlsQuery}` })
  t.match(named, /proxy_pass https:\/\/oro_websocket\/\$is_args\$args;[\s\S]*proxy_ssl_verify on;[\s\S]*proxy_ssl_name ws\.example\.com;/, 'an upstream group over TLS, with the name given')
})
