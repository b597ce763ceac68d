// Bad tickets against good ones (issue 10): one network (127.0.1.0/24) sends forged but well-formed
// tickets at a fixed rate while good clients, each from its own /24 on loopback, connect one after the other.
// Prints the good clients' time to the 101 (p50, p99, max), /healthz latency during the flood,
// what the flood was answered and the gateway's CPU and memory. A measurement, never a test.
//
//   npm run build && node bench/auth-flood.mjs [--rate 1000] [--seconds 10] [--good-every 20] [--root DIR]
//
// --root runs the gateway built in another checkout (e.g. an older commit) for an A/B.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { anonymousTicket } from './lib/ticket.mjs'
import { cpuMs, memory } from './lib/proc.mjs'

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'good-every': { type: 'string', default: '20' },
    root: { type: 'string', default: '.' }
  }
})
const RATE = Number(values.rate)
const SECONDS = Number(values.seconds)
const GOOD_EVERY_MS = Number(values['good-every'])
const SECRET = 'bench-flood-secret'

async function freePort () {
  return await new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

function upgrade (port, ticket, localAddress) {
  return new Promise((resolveAnswer) => {
    const started = performance.now()
    const req = request({
      host: '127.0.0.1', port, path: `/ws?ticket=${encodeURIComponent(ticket)}`, agent: false, localAddress,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), Origin: 'http://localhost' }
    })
    const done = (status, socket) => { socket?.destroy(); resolveAnswer({ status, ms: performance.now() - started }) }
    req.once('upgrade', (res, socket) => done(res.statusCode, socket))
    req.once('response', (res) => { res.resume(); res.once('end', () => done(res.statusCode)) })
    req.once('error', () => done(0))
    req.setTimeout(30_000, () => { req.destroy(); done(-1) })
    req.end()
  })
}

function forged () {
  const created = new Date().toISOString().slice(0, 19) + '+00:00'
  return Buffer.from(`${randomBytes(64).toString('base64')};;${randomBytes(8).toString('hex')};${created}`).toString('base64')
}

// The attacker runs in a worker thread, so its 1,000 connections a second do not delay the good
// clients' measurements on the main thread.
if (!isMainThread) {
  const { port, rate, seconds } = workerData
  const answers = {}
  const pending = []
  const started = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.min(rate * seconds, Math.floor((performance.now() - started) / 1000 * rate))
    // One network (127.0.1.0/24, what the gateway's limits count), its addresses in turn: from a
    // single source address the kernel cannot sustain 1,000 new connections a second (each leaves
    // its port in TIME_WAIT for 60 s, and binding to that address must search for a free one).
    for (; sent < due; sent++) pending.push(upgrade(port, forged(), `127.0.1.${1 + (sent % 254)}`).then(({ status }) => { answers[status] = (answers[status] ?? 0) + 1 }))
  }, 5)
  await new Promise((r) => setTimeout(r, seconds * 1000))
  clearInterval(timer)
  await Promise.all(pending)
  parentPort.postMessage({ sent, answers })
  process.exit(0)
}

const percentile = (sorted, p) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
const fmt = (ms) => Number.isNaN(ms) ? '-' : ms.toFixed(1)

const port = await freePort()
const cli = resolve(values.root, 'dist/src/cli.js')
const gateway = spawn(process.execPath, [cli, 'serve', '--env=prod'], {
  env: {
    ...process.env,
    ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`,
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'bench-key',
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32'
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
const goodTickets = Array.from({ length: goodCount }, () => anonymousTicket(SECRET))
const rssBefore = memory(gateway.pid).rss
const cpuBefore = cpuMs(gateway.pid)

const good = []
const health = []
const end = performance.now() + SECONDS * 1000
const attacker = new Worker(new URL(import.meta.url), { workerData: { port, rate: RATE, seconds: SECONDS } })
const flood = new Promise((r) => attacker.once('message', r))
let g = 0
const goodTimer = setInterval(() => {
  if (g >= goodCount) return
  const i = g++
  // Each good client on its own /24: 127.0.<10..249>.<1..>
  good.push(upgrade(port, goodTickets[i], `127.0.${10 + (i % 240)}.${1 + Math.floor(i / 240)}`))
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
console.log(`flood: ${sent} forged tickets in ${SECONDS} s from 127.0.1.0/24 (${RATE}/s), answered ${JSON.stringify(answers)}`)
console.log('| what | n | p50 ms | p99 ms | max ms |')
console.log('|---|---|---|---|---|')
console.log(`| good clients, time to 101 | ${ok.length}/${goodAnswers.length} | ${fmt(percentile(ok, 50))} | ${fmt(percentile(ok, 99))} | ${fmt(ok.at(-1) ?? NaN)} |`)
console.log(`| GET /healthz | ${healthMs.length} | ${fmt(percentile(healthMs, 50))} | ${fmt(percentile(healthMs, 99))} | ${fmt(healthMs.at(-1) ?? NaN)} |`)
console.log(`gateway: CPU ${cpu} ms over ${SECONDS} s, RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(mem.rss / 2 ** 20).toFixed(0)} MiB (peak ${(mem.peak / 2 ** 20).toFixed(0)} MiB)`)
process.exit(0)
