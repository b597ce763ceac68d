// Passwords in ORO_DB_URL (and ORO_DB_DSN, which wins over it) and ORO_WEBSOCKET_BROKER_DSN, written every way an operator may write
// them (percent-encoded, raw with @ : / ? #, in the query string), never reach any output:
// `config`, `config --json`, `serve -vvv` logs (with a database unreachable on purpose, so the
// error paths run) and the answers a client gets.
import { test, type Test } from 'tap'
import { request } from 'node:http'
import { cli as runCli, startGateway, freePort } from './helpers/spawn-gateway.js'
import { makeTicket } from './helpers/tickets.js'

const SECRET = 'secrets-test-oro-secret'
// Distinctive fragments: none may appear anywhere, raw or percent-encoded.
const PASSWORD = 'Zq7@x:y/w?v#u'
const ENCODED = encodeURIComponent(PASSWORD)
const FRAGMENTS = ['Zq7', 'w?v', 'v#u', '%3Fv', 'v%23u', SECRET]

async function cli (args: string[], env: Record<string, string>): Promise<string> {
  const { stdout, stderr } = await runCli(args, env)
  return stdout + stderr
}

/** The HTTP answer to a WebSocket upgrade, body included. */
function upgradeAnswer (url: string, ticket: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/ws?ticket=${encodeURIComponent(ticket)}`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Origin: 'http://localhost' }
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('upgrade', (_res, socket) => { socket.destroy(); reject(new Error('upgraded')) })
    req.on('error', reject)
    req.end()
  })
}

function assertClean (t: Test, where: string, text: string, expected: RegExp): void {
  // Not vacuous: the output must be the one that would have shown the password.
  t.match(text, expected, `${where}: the expected output`)
  const found = FRAGMENTS.filter((f) => text.includes(f))
  t.same(found, [], `${where}: no password fragment`)
}

const DATABASE_URLS = [
  `postgres://oro:${ENCODED}@127.0.0.1:1/oro`,
  `postgres://oro:${PASSWORD}@127.0.0.1:1/oro`,
  'mysql://oro:Zq7@x:y@127.0.0.1:1/oro',
  `mysql://oro@127.0.0.1:1/oro?password=${ENCODED}`,
  `postgres://oro:${ENCODED}@127.0.0.1:notaport/oro`,
  `postgres://oro:${ENCODED}@127.0.0.1:1/oro?sslmode=bogus`,
  `oracle://oro:${ENCODED}@127.0.0.1:1/oro`,
  `oro:${PASSWORD}@127.0.0.1/oro`
]

const BROKER_DSNS = [
  `redis://:${ENCODED}@127.0.0.1:1/0`,
  `redis://:${PASSWORD}@127.0.0.1:1/0`,
  `redis://Zq7secret@127.0.0.1:1`,
  `rediss://user:${ENCODED}@127.0.0.1:1/x`,
  `redis-sentinel://:${ENCODED}@127.0.0.1:1/mymaster?sentinel_password=${ENCODED}`,
  `redis-cluster://:${PASSWORD}@h1:1,h2:2`,
  `redis://:${ENCODED}@[::1:1/0`
]

test('config and config --json never print a password', { timeout: 180_000 }, async (t) => {
  const runs: Array<Promise<void>> = []
  for (const url of DATABASE_URLS) {
    for (const args of [['config'], ['config', '--json']]) {
      runs.push(cli(args, { ORO_SECRET: SECRET, ORO_DB_URL: url }).then((out) => { assertClean(t, `${args.join(' ')} ORO_DB_URL=${url}`, out, /ORO_DB_URL/) }))
    }
  }
  for (const url of DATABASE_URLS) {
    runs.push(cli(['config'], { ORO_SECRET: SECRET, ORO_DB_DSN: url, ORO_DB_URL: DATABASE_URLS[0] as string }).then((out) => { assertClean(t, `config ORO_DB_DSN=${url}`, out, /ORO_DB_DSN/) }))
  }
  for (const dsn of BROKER_DSNS) {
    for (const args of [['config'], ['config', '--json']]) {
      runs.push(cli(args, { ORO_SECRET: SECRET, ORO_WEBSOCKET_BROKER_DSN: dsn }).then((out) => { assertClean(t, `${args.join(' ')} BROKER_DSN=${dsn}`, out, /ORO_WEBSOCKET_BROKER_DSN/) }))
    }
  }
  // Two at a time: the machine has two cores.
  for (let i = 0; i < runs.length; i += 2) await Promise.all(runs.slice(i, i + 2))
  const shown = await cli(['config'], { ORO_SECRET: SECRET, ORO_DB_URL: DATABASE_URLS[0] as string })
  t.match(shown, /ORO_DB_URL\s+postgres:\/\/oro:\*\*\*@127\.0\.0\.1:1\/oro/, 'the URL keeps its shape')
})

test('serve -vvv with an unreachable database: logs and answers hold no password', { timeout: 180_000 }, async (t) => {
  const reachable = [DATABASE_URLS[0], DATABASE_URLS[2], DATABASE_URLS[3]] as string[]
  for (const url of reachable) {
    const gw = await startGateway({ env: { ORO_SECRET: SECRET, ORO_DB_URL: url }, args: ['-vvv'] }, t)
    const answer = await upgradeAnswer(gw.url, makeTicket({ secret: SECRET, username: 'alice', password: 'hash' }))
    t.equal(answer.status, 503, `${url}: a user's ticket with the database down is a 503`)
    const ready = await fetch(`${gw.url}/readyz`)
    const readyBody = await ready.text()
    await gw.stop()
    assertClean(t, `${url}: 503 body`, answer.body, /GW_ERR_DATABASE_UNAVAILABLE/)
    assertClean(t, `${url}: /readyz`, readyBody, /database/)
    assertClean(t, `${url}: logs`, gw.stdout() + gw.stderr(), /"msg":"oro-websocket-gateway listening.*; database (postgres|mysql):\/\/\*\*\*@|oro:\*\*\*@/)
    t.ok(gw.logLines().some((l) => l.level === 'debug'), 'debug lines were written')
  }
  // The URLs serve refuses at start: the error lines hold no password either.
  for (const url of DATABASE_URLS.filter((u) => !reachable.includes(u))) {
    const port = await freePort()
    const out = await cli(['serve', '-vvv'], { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}` })
    assertClean(t, `serve ORO_DB_URL=${url}`, out, /GW_ERR_CONFIG_INVALID: invalid configuration: ORO_DB_URL/)
    const dsn = await cli(['serve', '-vvv'], { ORO_SECRET: SECRET, ORO_DB_DSN: url, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}` })
    assertClean(t, `serve ORO_DB_DSN=${url}`, dsn, /GW_ERR_CONFIG_INVALID: invalid configuration: ORO_DB_DSN/)
  }
})
