#!/usr/bin/env node
// Many idle subscribed browser sessions on one node: RSS per session, the event loop's delay and
// /healthz while the keep-alive and ping cycles run, and a broadcast to all of them (CPU per
// delivery) against the same at the first stage.
//
//   npm run build && node bench/sessions.mjs [--sessions=50000] [--first=1000] [--workers=4]
//     [--watch=20] (seconds of idle watching) [--interval=5] (ping and keep-alive seconds)
//
// Sessions come from 127.0.0.2, 127.0.0.3, ... (a new address per 20,000, one /24: admission
// queues per /24 and never refuses a clean one), which are browsers: the gateway runs with
// ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32, so they get pings and keep-alive events like a
// page, and each has its own anonymous ticket under the default ORO_WEBSOCKET_SESSIONS_PER_TICKET
// (its per-ticket record is part of a session's memory). The tickets are made first, by the client
// workers while they hold no session (a ticket is 2-20 ms of JS: 50,000 take minutes; on a loop
// that holds sessions they would miss pings), so the gateway runs with
// ORO_WEBSOCKET_TICKET_LIFETIME=7200 for them to last the run. The broadcast publishes with
// POST /publish and a key. The gateway needs a file descriptor per session: the run stops with
// the reason when `ulimit -n` (hard limit) is too low for --sessions.
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { loadavg } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuSplitMs, memory } from './lib/proc.mjs'
import { freePort, waitListening } from './lib/net.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true] }))
const SESSIONS = Number(args.sessions ?? 50000)
const FIRST = Number(args.first ?? 1000)
const WORKERS = Number(args.workers ?? 4)
const WATCH_S = Number(args.watch ?? 20)
const INTERVAL = Number(args.interval ?? 5)
const SECRET = 'bench-oro-secret'
const KEY = 'bench-publish-key-0123456789abcdef'
const TOPIC = 'bench/idle'
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const lagFile = `/tmp/bench-sessions-lag.${process.pid}.json`
const memFile = `/tmp/bench-sessions-mem.${process.pid}.json`

const port = await freePort()
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ORO_SECRET: SECRET,
  ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
  ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml'),
  ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
  ORO_WEBSOCKET_TRUSTED_PROXIES: '127.0.0.1/32',
  ORO_WEBSOCKET_TICKET_LIFETIME: '7200',
  ORO_WEBSOCKET_PING_INTERVAL: String(INTERVAL),
  ORO_WEBSOCKET_KEEPALIVE_INTERVAL: String(INTERVAL),
  BENCH_LAG_FILE: lagFile,
  BENCH_MEMORY_FILE: memFile
}
const gateway = spawn(process.execPath, ['--expose-gc', '-r', join(here, 'lib/preload.cjs'), join(root, 'dist/cli.js'), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] })
await waitListening(port, gateway)
const fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${gateway.pid}/limits`, 'utf8'))?.[1])
let target = SESSIONS
if (fdLimit < SESSIONS + 100) {
  target = Math.floor((fdLimit - 500) / 1000) * 1000
  console.log(`the gateway's open-files limit is ${fdLimit}: ${SESSIONS} sessions need more (raise the hard limit: ulimit -Hn); running ${target}`)
}

const workers = Array.from({ length: WORKERS }, () => fork(join(here, 'lib/client-worker.mjs'), [], { stdio: 'inherit' }))
let nextId = 1
const call = (worker, msg) => new Promise((resolve) => {
  const id = nextId++
  const onMessage = (reply) => { if (reply.id === id) { worker.off('message', onMessage); resolve(reply) } }
  worker.on('message', onMessage)
  worker.send({ ...msg, id })
})
const all = (msg) => Promise.all(workers.map((w) => call(w, msg)))

async function gcRss () {
  gateway.kill('SIGUSR2')
  await sleep(1500)
  const usage = JSON.parse(readFileSync(memFile, 'utf8'))
  return { rss: memory(gateway.pid).rss, heapUsed: usage.heapUsed }
}

// A ticket per session, made before the first session connects.
const ticketsStarted = Date.now()
const tickets = (await all({ cmd: 'tickets', secret: SECRET, count: Math.ceil(target / WORKERS) })).flatMap((r) => r.tickets)
console.log(`${tickets.length} tickets made in ${((Date.now() - ticketsStarted) / 1000).toFixed(0)} s`)

let connected = 0
async function connectTo (n) {
  const started = Date.now()
  const plans = workers.map(() => [])
  for (let i = connected; i < n; i++) {
    plans[i % WORKERS].push({ topics: [TOPIC], localAddress: `127.0.0.${2 + Math.floor(i / 20000)}`, ticket: tickets[i] })
  }
  const replies = await Promise.all(workers.map((w, k) => call(w, { cmd: 'connect', kind: 'wamp', port, plan: plans[k], concurrency: 64 })))
  const failed = replies.reduce((a, r) => a + r.failed, 0)
  connected = n - failed
  return { ms: Date.now() - started, failed }
}

function post (body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/publish', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)) })
    req.on('error', reject)
    req.end(body)
  })
}

/** One event to every session; server CPU per delivery (10 ms ticks: several events for small stages). */
async function broadcast (events) {
  // Subscriptions in effect: probes until every session has seen one.
  await all({ cmd: 'resetProbes' })
  for (let i = 0; i < 200; i++) {
    await post(`{"topic":"${TOPIC}","data":{"s":-1,"t":0}}`)
    await sleep(200)
    const probed = (await all({ cmd: 'probes' })).reduce((a, r) => a + r.probed, 0)
    if (probed >= connected) break
  }
  await all({ cmd: 'arm', events })
  const before = cpuSplitMs(gateway.pid)
  const t = Math.round(performance.timeOrigin * 1000 + performance.now() * 1000)
  for (let s = 0; s < events; s++) await post(`{"topic":"${TOPIC}","data":{"s":${s},"t":${t}}}`)
  let received = 0
  for (let i = 0; i < 600; i++) {
    received = (await all({ cmd: 'count' })).reduce((a, r) => a + r.received, 0)
    if (received >= events * connected) break
    await sleep(100)
  }
  const after = cpuSplitMs(gateway.pid)
  const cpu = (after.user - before.user) + (after.system - before.system)
  return { sessions: connected, events, deliveries: received, cpuMs: cpu, cpuUsPerDelivery: +(cpu * 1000 / received).toFixed(2) }
}

/** Event-loop delay (the gateway's own histogram, reset first) and /healthz times over the watch. */
async function watch (seconds) {
  gateway.kill('SIGWINCH')
  const times = []
  const end = Date.now() + seconds * 1000
  while (Date.now() < end) {
    const started = performance.now()
    await new Promise((resolve) => http.get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); res.on('end', resolve) }).on('error', resolve))
    times.push(performance.now() - started)
    await sleep(100)
  }
  times.sort((a, b) => a - b)
  const lag = JSON.parse(readFileSync(lagFile, 'utf8'))
  return { loopDelayP99Ms: +lag.p99Ms.toFixed(1), loopDelayMaxMs: +lag.maxMs.toFixed(1), healthzP50Ms: +times[times.length >> 1].toFixed(1), healthzP99Ms: +times[Math.floor(times.length * 0.99)].toFixed(1), healthzMaxMs: +times.at(-1).toFixed(1), healthzProbes: times.length }
}

const rows = []
const start = await gcRss()
await connectTo(FIRST)
const atFirst = await gcRss()
rows.push({ stage: FIRST, load: +loadavg()[0].toFixed(1), ...await watch(Math.min(WATCH_S, 2 * INTERVAL + 2)), ...await broadcast(20), rssMB: +(atFirst.rss / 2 ** 20).toFixed(1) })
const connect = await connectTo(target)
const atTarget = await gcRss()
rows.push({ stage: target, load: +loadavg()[0].toFixed(1), connectS: +(connect.ms / 1000).toFixed(1), failed: connect.failed, ...await watch(WATCH_S), ...await broadcast(3), rssMB: +(atTarget.rss / 2 ** 20).toFixed(1) })
console.log(`RSS at start ${(start.rss / 2 ** 20).toFixed(1)} MB; per session between ${FIRST} and ${connected}: ${((atTarget.rss - atFirst.rss) / (connected - FIRST) / 1024).toFixed(2)} KB RSS, ${((atTarget.heapUsed - atFirst.heapUsed) / (connected - FIRST) / 1024).toFixed(2)} KB heap; peak RSS ${(memory(gateway.pid).peak / 2 ** 20).toFixed(1)} MB`)
console.table(rows)
await all({ cmd: 'exit' })
gateway.kill('SIGKILL')
await once(gateway, 'exit')
