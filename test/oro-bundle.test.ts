// integrations/oro-bundle (the Symfony bundle that makes Oro's backend publish over HTTP) against
// real gateways: this test starts a plain gateway, one with TLS from a test CA, a proxy that
// answers the first POST 504 after the gateway took it, and WAMP subscribers; then it runs the
// package's PHPUnit tests with their addresses in GATEWAY_* variables (each PHPUnit test is a
// test point here) and checks what the subscribers and the proxy saw.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, Agent, type IncomingMessage } from 'node:http'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { makeCertificates, opensslBinary } from './helpers/certificates.js'
import { httpsReady } from './helpers/tls-clients.js'
import { phpOptions, phpunitBinary } from './helpers/php.js'
import { serviceOptions } from './helpers/services.js'

const packageDir = fileURLToPath(new URL('../integrations/oro-bundle/', import.meta.url))
const TOPIC = 'oro/data/update'
const KEY = `bundle-key-${randomBytes(6).toString('hex')}`
const BIG_COUNT = 2500

interface ProxyRequest { method: string, path: string, mode: string, idempotencyKey: string, tags: string[], connection: number, answered: number | 'dropped', status?: number, replayed?: boolean }

/**
 * Forwards to the gateway. Under /publish (and /readyz) the first POST is passed on, and its 202
 * replaced by a 504. Under /unavailable/ the first POST is answered 503 without passing it on (a
 * gateway that could not take it). Under /drop/ a POST that comes on a keep-alive connection
 * already used is passed on and the connection then closed without an answer (the gateway
 * restarted, or closed the idle connection, between two publishes of a long-running process).
 */
async function startProxy (target: string): Promise<{ url: string, seen: ProxyRequest[], close: () => Promise<void> }> {
  const seen: ProxyRequest[] = []
  const agent = new Agent({ keepAlive: true })
  let connections = 0
  let posts = 0
  let unavailablePosts = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let tags: string[] = []
      try {
        const parsed = JSON.parse(body.toString()) as { data?: Array<{ tagname?: string }> }
        tags = (parsed.data ?? []).map((d) => String(d.tagname))
      } catch { /* GET */ }
      const socket = req.socket as unknown as { gwId: number, gwRequests: number }
      const connection = socket.gwId
      socket.gwRequests = (socket.gwRequests ?? 0) + 1
      const mode = /^\/(unavailable|drop)\//.exec(req.url ?? '')?.[1] ?? 'plain'
      const path = mode === 'plain' ? (req.url ?? '/') : (req.url ?? '/').slice(mode.length + 1)
      const record: ProxyRequest = { method: req.method ?? '', path, mode, idempotencyKey: String(req.headers['idempotency-key'] ?? ''), tags, connection, answered: socket.gwRequests }
      seen.push(record)
      if (mode === 'unavailable' && req.method === 'POST' && ++unavailablePosts === 1) {
        record.status = 503
        res.writeHead(503, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ code: 'GW_ERR_BROKER_UNAVAILABLE', message: 'test proxy: not taken, try again' }))
        return
      }
      const dropped = mode === 'drop' && req.method === 'POST' && socket.gwRequests > 1
      const first = mode === 'plain' && req.method === 'POST' && ++posts === 1
      const upstream = httpRequest(`${target}${path}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent }, (answer: IncomingMessage) => {
        const parts: Buffer[] = []
        answer.on('data', (c: Buffer) => parts.push(c))
        answer.on('end', () => {
          record.status = answer.statusCode
          record.replayed = answer.headers['idempotent-replayed'] === 'true'
          if (dropped) {
            record.answered = 'dropped'
            req.socket.destroy()
            return
          }
          if (first && answer.statusCode === 202) {
            res.writeHead(504, { 'content-type': 'application/json' })
            res.end(JSON.stringify({ code: 'GW_ERR_PUBLISH_OUTCOME_UNKNOWN', message: 'test proxy: the gateway took it, the answer is lost' }))
            return
          }
          res.writeHead(answer.statusCode ?? 502, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') })
          res.end(Buffer.concat(parts))
        })
      })
      upstream.on('error', (err) => { res.writeHead(502); res.end(err.message) })
      upstream.end(body)
    })
  })
  // Idle connections stay open however slow the machine is: the keep-alive check counts them.
  server.keepAliveTimeout = 120_000
  server.on('connection', (socket) => { (socket as unknown as { gwId: number }).gwId = ++connections })
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => { agent.destroy(); server.closeAllConnections(); server.close(() => resolve()) })
  }
}

interface PhpunitCase { name: string, problem: string | null }

/** The test methods in the package's tests/*Test.php files. */
function phpunitTestCount (): number {
  return readdirSync(join(packageDir, 'tests')).filter((f) => f.endsWith('Test.php'))
    .reduce((n, f) => n + (readFileSync(join(packageDir, 'tests', f), 'utf8').match(/public function test\w+\(/g) ?? []).length, 0)
}

function runPhpunit (env: Record<string, string>, junit: string): Promise<{ code: number | null, output: string, cases: PhpunitCase[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(phpunitBinary as string, ['--log-junit', junit], { cwd: packageDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => { output += c })
    child.stderr.setEncoding('utf8').on('data', (c: string) => { output += c })
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      let xml = ''
      try { xml = readFileSync(junit, 'utf8') } catch { /* no report: code says why */ }
      const cases: PhpunitCase[] = []
      for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
        const attrs = m[1] ?? ''
        const name = `${/\bclass="([^"]*)"/.exec(attrs)?.[1]?.replace(/^.*\\/, '') ?? '?'}::${/\bname="([^"]*)"/.exec(attrs)?.[1] ?? '?'}`
        const inner = m[2] ?? ''
        const problem = /<(failure|error|skipped|warning)\b[^>]*?(?:\/>|>([\s\S]*?)<\/\1>)/.exec(inner)
        cases.push({ name, problem: problem === null ? null : `${problem[1] ?? ''}: ${(problem[2] ?? '').replace(/&quot;/g, '"').replace(/&#039;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')}` })
      }
      resolve({ code, output, cases })
    })
  })
}

/** The tag names of each oro/data/update event a subscriber got. */
function received (client: WampClient): string[][] {
  return client.events(TOPIC).map((event) => (event as Array<{ tagname: string }>).map((e) => e.tagname))
}

function count (client: WampClient, tag: string): number {
  return received(client).filter((tags) => tags[0] === tag).length
}

test('the Oro bundle publishes through real gateways: PHPUnit with a WAMP subscriber on the other side', {
  ...phpOptions(),
  ...(phpOptions().skip === undefined ? serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl') : {}),
  timeout: 240_000
}, async (t) => {
  const run = randomBytes(4).toString('hex')
  const tag = (what: string): string => `Gw_${run}_${what}`
  const env = { ORO_WEBSOCKET_PUBLISH_KEYS: KEY }
  const plain = await startGateway({ args: ['--env=dev'], env }, t)
  const c = makeCertificates()
  t.teardown(() => rmSync(c.dir, { recursive: true, force: true }))
  const tlsPort = await freePort()
  const tls = await startGateway({
    args: ['--env=dev'],
    env: { ...env, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${tlsPort}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}` },
    scheme: 'https',
    ready: httpsReady(readFileSync(c.ca))
  }, t)

  const first = await connectWamp(`ws://127.0.0.1:${plain.port}/`)
  const second = await connectWamp(`ws://127.0.0.1:${plain.port}/`)
  const secure = await connectWamp(`wss://127.0.0.1:${tls.port}/`, { tls: { ca: readFileSync(c.ca) } })
  t.teardown(() => { first.close(); second.close(); secure.close() })
  for (const client of [first, second, secure]) {
    client.subscribe(TOPIC)
    await client.sync()
  }
  const proxy = await startProxy(plain.url)
  t.teardown(proxy.close)
  const work = mkdtempSync(join(tmpdir(), 'gw-oro-bundle-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))

  const result = await runPhpunit({
    GATEWAY_RUN: run,
    GATEWAY_KEY: KEY,
    GATEWAY_PUBLISH_URL: `${plain.url}/publish`,
    GATEWAY_RETRY_URL: `${proxy.url}/publish`,
    GATEWAY_UNAVAILABLE_URL: `${proxy.url}/unavailable/publish`,
    GATEWAY_DROP_URL: `${proxy.url}/drop/publish`,
    GATEWAY_DOWN_URL: `http://127.0.0.1:${await freePort()}/publish`,
    GATEWAY_TLS_URL: `${tls.url}/publish`,
    GATEWAY_TLS_CA: c.ca,
    GATEWAY_SESSIONS: `${first.sessionId},${second.sessionId}`,
    GATEWAY_BIG_COUNT: String(BIG_COUNT)
  }, join(work, 'junit.xml'))

  t.test('PHPUnit', async (t) => {
    if (result.code !== 0) t.comment(result.output)
    t.equal(result.code, 0, 'phpunit exits 0')
    t.equal(result.cases.length, phpunitTestCount(), 'every PHPUnit test ran')
    for (const { name, problem } of result.cases) t.equal(problem, null, name)
  })

  // Events reach a subscriber in publish order: once this one is there, every earlier one is.
  const end = async (url: string, clients: WampClient[]): Promise<void> => {
    const res = await fetch(`${url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ topic: TOPIC, data: [{ username: null, tagname: tag('end') }] }) })
    t.equal(res.status, 202, 'the closing marker is accepted')
    await Promise.all(clients.map(async (client) => {
      while (count(client, tag('end')) === 0) await client.waitForEvents(client.events(TOPIC).length + 1, TOPIC, 30_000)
    }))
  }
  await end(plain.url, [first, second])

  t.test('what the subscribers received', async (t) => {
    for (const [name, client] of [['first', first], ['second', second]] as const) {
      for (const what of ['plain', 'event', 'retried', 'retried_503', 'dropped_0', 'dropped_1', 'dropped_2', 'container', 'runtime_switch', ...Array.from({ length: 21 }, (_v, i) => `keepalive_${i}`)]) {
        t.equal(count(client, tag(what)), 1, `${name} subscriber: ${what} once`)
      }
      const big = received(client).filter((tags) => tags[0] === tag('big_00000'))
      t.equal(big.length, 1, `${name} subscriber: the 100 KB event once`)
      t.same(big[0], Array.from({ length: BIG_COUNT }, (_v, i) => tag(`big_${String(i).padStart(5, '0')}`)), `${name} subscriber: the 100 KB event whole, in order`)
      for (const what of ['down', 'silent', 'silent_default', 'connect_timeout', 'wrong_key', 'tls_unknown_ca']) t.equal(count(client, tag(what)), 0, `${name} subscriber: nothing of ${what}`)
    }
    t.equal(count(first, tag('eligible')), 0, 'eligible: not the first session')
    t.equal(count(second, tag('eligible')), 1, 'eligible: the second session')
    t.equal(count(first, tag('exclude')), 0, 'exclude: not the first session')
    t.equal(count(second, tag('exclude')), 1, 'exclude: the second session')
  })

  // In PHPUnit's order: once dsn (the last) is there, any tls_unknown_ca would be too.
  t.test('over TLS', async (t) => {
    for (const what of ['tls', 'tls_unverified', 'dsn']) {
      while (count(secure, tag(what)) === 0 && result.code === 0) await secure.waitForEvents(secure.events(TOPIC).length + 1, TOPIC, 30_000)
      t.equal(count(secure, tag(what)), 1, `${what} once`)
    }
    t.equal(count(secure, tag('tls_unknown_ca')), 0, 'nothing without the CA')
  })

  t.test('what the proxy saw', async (t) => {
    const unavailable = proxy.seen.filter((r) => r.method === 'POST' && r.tags[0] === tag('retried_503'))
    t.equal(unavailable.length, 2, 'the 503 was retried once')
    t.equal(unavailable[1]?.idempotencyKey, unavailable[0]?.idempotencyKey, '503: the same Idempotency-Key')
    t.match(unavailable, [{ status: 503 }, { status: 202, replayed: false }], '503: not taken, then taken once')
    for (const what of ['dropped_1', 'dropped_2']) {
      const lost = proxy.seen.filter((r) => r.method === 'POST' && r.tags[0] === tag(what))
      t.ok(lost.length >= 2, `${what}: the connection closed under it, and sent again (${lost.length} times)`)
      t.equal(new Set(lost.map((r) => r.idempotencyKey)).size, 1, `${what}: always with the same Idempotency-Key`)
      t.match(lost[0], { answered: 'dropped', status: 202, replayed: false }, `${what}: the gateway took the first, whose answer was lost with the connection`)
      t.match(lost.at(-1), { status: 202, replayed: true }, `${what}: the gateway answered the last from its record, not delivering it again`)
      t.not(lost.at(-1)?.connection, lost[0]?.connection, `${what}: on a new connection`)
    }
    const retried = proxy.seen.filter((r) => r.method === 'POST' && r.tags[0] === tag('retried'))
    t.equal(retried.length, 2, 'the 504 was retried once')
    t.match(retried[0]?.idempotencyKey, /^[0-9a-f]{32}$/, 'with an Idempotency-Key')
    t.equal(retried[1]?.idempotencyKey, retried[0]?.idempotencyKey, 'the same Idempotency-Key')
    t.match(retried, [{ status: 202, replayed: false }, { status: 202, replayed: true }], 'the gateway delivered the first and replayed its answer to the retry')
    t.equal(proxy.seen.filter((r) => r.method === 'GET' && r.path === '/readyz' && r.mode === 'plain').length, 1, 'GET /readyz once for three readiness questions')
    const keepalive = proxy.seen.filter((r) => r.tags[0]?.startsWith(tag('keepalive_')) === true)
    t.equal(keepalive.length, 21, '21 publishes')
    t.equal(new Set(keepalive.map((r) => r.connection)).size, 1, 'on one TCP connection')
    t.equal(new Set(keepalive.map((r) => r.idempotencyKey)).size, 21, 'each with its own Idempotency-Key')
  })
})
