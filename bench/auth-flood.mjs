// Bad tickets against good ones (issues 10 and 17): forged but well-formed tickets at a fixed rate
// while good pages connect one after the other. Prints the good pages' time to the 101 (p50, p99,
// max) and how many were refused, /healthz latency during the flood, what the flood was answered
// and the gateway's CPU and memory. A measurement, never a test.
//
//   npm run build && node bench/auth-flood.mjs [--rate 1000] [--seconds 10] [--good-every 20] [--root DIR]
//     [--flood-from other|office|rotate] other: one network (198.51.100.0/24); office: the good
//        pages' office address; rotate: every forged ticket from a new /24 (10.0.0.0/8, 256 per /16)
//     [--good-from spread|office] spread: each good page from its own /24; office: all behind one address
//     [--users N] good pages are N database users (a scratch PostgreSQL table, $BENCH_PG_URL),
//        not anonymous; [--flood-user NAME] the username in the forged tickets ('' = anonymous)
//
// Everyone plays a browser: connections come from loopback addresses (the trusted proxy) with
// X-Forwarded-For naming the browser's address, as behind nginx. --root runs the gateway built in
// another checkout (e.g. an older commit) for an A/B.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { anonymousTicket, ticket } from './lib/ticket.mjs'
import { cpuMs, memory } from './lib/proc.mjs'

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'good-every': { type: 'string', default: '20' },
    root: { type: 'string', default: '.' },
    'flood-from': { type: 'string', default: 'other' },
    'good-from': { type: 'string', default: 'spread' },
    users: { type: 'string', default: '0' },
    'flood-user': { type: 'string', default: '' }
  }
})
const RATE = Number(values.rate)
const SECONDS = Number(values.seconds)
const GOOD_EVERY_MS = Number(values['good-every'])
const SECRET = 'bench-flood-secret'
const FLOOD_FROM = values['flood-from']
const GOOD_FROM = values['good-from']
const USERS = Number(values.users)
const FLOOD_USER = values['flood-user']
const OFFICE = '203.0.113.10'
if (!['other', 'office', 'rotate'].includes(FLOOD_FROM)) throw new Error('--flood-from is other, office or rotate')
if (!['spread', 'office'].includes(GOOD_FROM)) throw new Error('--good-from is spread or office')

/** The browser address of the i-th forged ticket (`from`: --flood-from, passed to the worker thread). */
function floodAddress (i, from) {
  if (from === 'office') return OFFICE
  if (from === 'rotate') return `10.${(i >> 8) & 255}.${i & 255}.1`
  return `198.51.100.${1 + (i % 254)}`
}

/** The browser address of the i-th good page. */
const goodAddress = (i) => GOOD_FROM === 'office' ? OFFICE : `198.18.${i % 240}.${1 + Math.floor(i / 240) % 250}`

async function freePort () {
  return await new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

function upgrade (port, ticket, localAddress, forwardedFor) {
  return new Promise((resolveAnswer) => {
    const started = performance.now()
    const req = request({
      host: '127.0.0.1', port, path: `/ws?ticket=${encodeURIComponent(ticket)}`, agent: false, localAddress,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), Origin: 'http://localhost', 'X-Forwarded-For': forwardedFor }
    })
    const done = (status, socket) => { socket?.destroy(); resolveAnswer({ status, ms: performance.now() - started }) }
    req.once('upgrade', (res, socket) => done(res.statusCode, socket))
    req.once('response', (res) => { res.resume(); res.once('end', () => done(res.statusCode)) })
    req.once('error', () => done(0))
    req.setTimeout(60_000, () => { req.destroy(); done(-1) })
    req.end()
  })
}

function forged (username) {
  const created = new Date().toISOString().slice(0, 19) + '+00:00'
  return Buffer.from(`${randomBytes(64).toString('base64')};${username};${randomBytes(8).toString('hex')};${created}`).toString('base64')
}

// The attacker runs in a worker thread, so its 1,000 connections a second do not delay the good
// clients' measurements on the main thread.
if (!isMainThread) {
  // A worker thread does not see this process's arguments: they come in workerData.
  const { port, rate, seconds, floodUser, floodFrom } = workerData
  const answers = {}
  const pending = []
  const started = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.min(rate * seconds, Math.floor((performance.now() - started) / 1000 * rate))
    // The TCP source (the proxy hop) spread over 127.0.1.0/24: from a single source address the
    // kernel cannot sustain 1,000 new connections a second (each leaves its port in TIME_WAIT for
    // 60 s, and binding to that address must search for a free one). The browser address is in
    // X-Forwarded-For.
    for (; sent < due; sent++) pending.push(upgrade(port, forged(floodUser), `127.0.1.${1 + (sent % 254)}`, floodAddress(sent, floodFrom)).then(({ status }) => { answers[status] = (answers[status] ?? 0) + 1 }))
  }, 5)
  await new Promise((r) => setTimeout(r, seconds * 1000))
  clearInterval(timer)
  await Promise.all(pending)
  parentPort.postMessage({ sent, answers })
  process.exit(0)
}

const percentile = (sorted, p) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
const fmt = (ms) => Number.isNaN(ms) ? '-' : ms.toFixed(1)

// Good pages as database users: a scratch table of USERS users (PostgreSQL).
async function prepareUsers (count) {
  const { default: pg } = await import('pg')
  const base = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = 'oro_bench_flood'")).rowCount === 0) await admin.query('CREATE DATABASE oro_bench_flood')
  await admin.end()
  const url = new URL(base)
  url.pathname = '/oro_bench_flood'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  await client.query(`CREATE TABLE IF NOT EXISTS oro_user (id integer PRIMARY KEY, username varchar(255) NOT NULL UNIQUE,
    email varchar(255) NOT NULL, password varchar(255) NOT NULL, enabled boolean NOT NULL DEFAULT true)`)
  await client.query('TRUNCATE oro_user')
  const users = Array.from({ length: count }, (_, i) => ({ id: i + 1, username: `flood_user_${i + 1}`, password: `$2y$13$${randomBytes(40).toString('base64').slice(0, 53)}` }))
  for (const u of users) await client.query('INSERT INTO oro_user (id, username, email, password) VALUES ($1, $2, $3, $4)', [u.id, u.username, `${u.username}@example.com`, u.password])
  await client.end()
  return { users, url: url.toString() }
}
const prepared = USERS > 0 ? await prepareUsers(USERS) : undefined
const dbUrl = prepared?.url

const port = await freePort()
const cli = resolve(values.root, 'dist/cli.js')
const gateway = spawn(process.execPath, [cli, 'serve', '--env=prod'], {
  env: {
    ...process.env,
    ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`,
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'bench-key',
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
    ...(dbUrl !== undefined ? { ORO_DB_URL: dbUrl } : {})
  },
  stdio: ['ignore', 'ignore', 'inherit']
})
process.on('exit', () => gateway.kill('SIGKILL'))
for (let i = 0; ; i++) {
  const ok = await new Promise((r) => request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => { res.resume(); r(res.statusCode === 200) }).once('error', () => r(false)).end())
  if (ok) break
  if (i > 200) throw new Error('the gateway did not start')
  await new Promise((r) => setTimeout(r, 50))
}

// Tickets are made before the clock starts (5 ms of CPU each, on this process).
const goodCount = Math.ceil(SECONDS * 1000 / GOOD_EVERY_MS)
const goodTickets = Array.from({ length: goodCount }, (_, i) => {
  const user = prepared?.users[i % prepared.users.length]
  return user === undefined ? anonymousTicket(SECRET) : ticket(SECRET, { username: user.username, password: user.password })
})
const rssBefore = memory(gateway.pid).rss
const cpuBefore = cpuMs(gateway.pid)

const good = []
const health = []
const end = performance.now() + SECONDS * 1000
const attacker = new Worker(new URL(import.meta.url), { workerData: { port, rate: RATE, seconds: SECONDS, floodUser: FLOOD_USER, floodFrom: FLOOD_FROM } })
const flood = new Promise((r) => attacker.once('message', r))
let g = 0
const goodTimer = setInterval(() => {
  if (g >= goodCount) return
  const i = g++
  good.push(upgrade(port, goodTickets[i], `127.0.${10 + (i % 240)}.${1 + Math.floor(i / 240) % 250}`, goodAddress(i)))
}, GOOD_EVERY_MS)
const healthTimer = setInterval(() => {
  const t0 = performance.now()
  health.push(new Promise((r) => request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => { res.resume(); res.once('end', () => r(performance.now() - t0)) }).once('error', () => r(NaN)).end()))
}, 100)
await new Promise((r) => setTimeout(r, Math.max(0, end - performance.now())))
clearInterval(goodTimer); clearInterval(healthTimer)
const goodAnswers = await Promise.all(good)
const healthMs = (await Promise.all(health)).sort((a, b) => a - b)
const { sent, answers } = await flood
const cpu = cpuMs(gateway.pid) - cpuBefore
const mem = memory(gateway.pid)
gateway.kill('SIGTERM')

const ok = goodAnswers.filter((a) => a.status === 101).map((a) => a.ms).sort((a, b) => a - b)
const goodStatuses = {}
for (const a of goodAnswers) goodStatuses[a.status] = (goodStatuses[a.status] ?? 0) + 1
console.log(`flood: ${sent} forged ${FLOOD_USER === '' ? 'anonymous' : `"${FLOOD_USER}"`} tickets in ${SECONDS} s from ${FLOOD_FROM === 'office' ? `the office (${OFFICE})` : FLOOD_FROM === 'rotate' ? 'a new /24 each (10.0.0.0/8)' : '198.51.100.0/24'} (${RATE}/s), answered ${JSON.stringify(answers)}`)
console.log(`good pages: ${goodAnswers.length} ${USERS > 0 ? `database users (${USERS})` : 'anonymous'} from ${GOOD_FROM === 'office' ? `the office (${OFFICE})` : 'a /24 each (198.18.0.0/16)'}, answered ${JSON.stringify(goodStatuses)}`)
console.log('| what | n | p50 ms | p99 ms | max ms |')
console.log('|---|---|---|---|---|')
console.log(`| good clients, time to 101 | ${ok.length}/${goodAnswers.length} | ${fmt(percentile(ok, 50))} | ${fmt(percentile(ok, 99))} | ${fmt(ok.at(-1) ?? NaN)} |`)
console.log(`| GET /healthz | ${healthMs.length} | ${fmt(percentile(healthMs, 50))} | ${fmt(percentile(healthMs, 99))} | ${fmt(healthMs.at(-1) ?? NaN)} |`)
console.log(`gateway: CPU ${cpu} ms over ${SECONDS} s, RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(mem.rss / 2 ** 20).toFixed(0)} MiB (peak ${(mem.peak / 2 ** 20).toFixed(0)} MiB)`)
process.exit(0)
