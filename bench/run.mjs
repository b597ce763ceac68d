#!/usr/bin/env node
// npm run bench [-- --quick] [--only=gateway-wamp,naive-ws] [--scenarios=burst,rate] [--repeat=N]
//
// The fan-out benchmark: the same load generator (worker processes holding `ws` clients) against
// each server in turn, every server started fresh as a child process for every scenario, all on
// loopback. Prints a table, writes bench/results/latest.json and bench/results/latest.svg.
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs'
import { cpus, totalmem, release } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import autocannon from 'autocannon'
import { anonymousTicket } from './lib/ticket.mjs'
import { cpuMs, cpuSplitMs, memory } from './lib/proc.mjs'
import { openPublisher } from './lib/publishers.mjs'
import { renderChart } from './lib/chart.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=')
  return [k, v ?? true]
}))
const quick = args.quick === true
const SECRET = 'bench-oro-secret'
const KEY = 'bench-publish-key-0123456789abcdef'
const PAYLOAD_TAG = 'Oro_Bundle_UserBundle_Entity_User_1'

// --- settings ------------------------------------------------------------------------------------

const settings = {
  quick,
  workers: Number(args.workers ?? 2),
  repeat: Number(args.repeat ?? (quick ? 1 : 3)),
  burst: { subscribers: 1000, events: quick ? 300 : 1000 },
  rate: { subscribers: 1000, perSecond: Number(args.rate ?? 50), seconds: quick ? 3 : 5 },
  wide: { subscribers: quick ? 4000 : 10000, events: quick ? 50 : 100 },
  topics: { topics: quick ? 40 : 100, perTopic: 100, events: quick ? 50 : 100 },
  idle: { connections: Number(args.idle ?? (quick ? 4000 : 10000)) },
  rps: { connections: 10, seconds: quick ? 3 : 5 },
  connectConcurrency: 64
}

const SERVERS = {
  'gateway-http': { label: 'gateway, POST /publish', start: 'gateway', clients: 'wamp', publisher: 'http' },
  'gateway-wamp': { label: 'gateway, WAMP backend', start: 'gateway', clients: 'wamp', publisher: 'wamp' },
  'naive-ws': { label: 'naive ws broadcast', start: 'naive-ws', clients: 'ws', publisher: 'ws' },
  socketio: { label: 'Socket.IO 4 rooms', start: 'socketio', clients: 'sio', publisher: 'sio' }
}

const SCENARIOS = [
  { name: 'burst', title: `${settings.burst.subscribers} subs, 1 topic, burst of ${settings.burst.events}`, servers: Object.keys(SERVERS) },
  { name: 'rate', title: `${settings.rate.subscribers} subs, 1 topic, ${settings.rate.perSecond} events/s for ${settings.rate.seconds} s`, servers: Object.keys(SERVERS) },
  { name: 'wide', title: `${settings.wide.subscribers} subs, 1 topic, burst of ${settings.wide.events}`, servers: Object.keys(SERVERS) },
  { name: 'topics', title: `${settings.topics.topics} topics x ${settings.topics.perTopic} subs, burst of ${settings.topics.events} per topic`, servers: Object.keys(SERVERS) },
  { name: 'idle', title: `${settings.idle.connections} idle connections (1 subscription each)`, servers: ['gateway-wamp', 'naive-ws', 'socketio'] },
  { name: 'rps', title: `POST /publish, ${settings.rps.connections} connections, ${settings.rps.seconds} s (no subscribers)`, servers: ['gateway-http', 'bare-fastify'] }
]

const onlyServers = typeof args.only === 'string' ? args.only.split(',') : null
const onlyScenarios = typeof args.scenarios === 'string' ? args.scenarios.split(',') : null

// --- servers -------------------------------------------------------------------------------------

async function freePort () {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

async function waitListening (port, child) {
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('connect', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`server did not listen on ${port}`)
}

async function startServer (kind) {
  const port = await freePort()
  const node = [...(args.prof === kind ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []),
    '--expose-gc', '-r', join(here, 'lib', 'preload.cjs')]
  let argv
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port) }
  if (process.env.BENCH_MEMORY_FILE) env.BENCH_MEMORY_FILE = process.env.BENCH_MEMORY_FILE
  if (process.env.BENCH_HEAP_SNAPSHOT) env.BENCH_HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT
  if (kind === 'gateway') {
    argv = [...node, join(root, 'dist/src/cli.js'), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)]
    Object.assign(env, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml') })
  } else {
    argv = [...node, join(here, 'servers', `${kind}.mjs`)]
  }
  const child = spawn(process.execPath, argv, { cwd: here, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  try {
    await waitListening(port, child)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${kind}: ${err.message}\n${stderr}`)
  }
  return {
    port,
    pid: child.pid,
    child,
    async stop () {
      if (child.exitCode !== null) return
      // SIGINT lets --cpu-prof write its profile; the gateway shuts down gracefully on it.
      child.kill(args.prof === kind ? 'SIGINT' : 'SIGKILL')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
      await once(child, 'exit')
      clearTimeout(timer)
    }
  }
}

// --- load generator workers ----------------------------------------------------------------------

let workers = []
let nextId = 1
function call (worker, msg) {
  const id = nextId++
  return new Promise((resolve) => {
    const onMessage = (reply) => {
      if (reply.id !== id) return
      worker.off('message', onMessage)
      resolve(reply)
    }
    worker.on('message', onMessage)
    worker.send({ ...msg, id })
  })
}
const all = (msg) => Promise.all(workers.map((w) => call(w, msg)))

function startWorkers () {
  workers = Array.from({ length: settings.workers }, () => fork(join(here, 'lib', 'client-worker.mjs'), [], { stdio: 'inherit' }))
}

let addressRound = 0
/** Spreads clients over the workers; each scenario uses fresh source addresses (127.0.0.2, ...). */
async function connectClients (server, clientKind, topicsOf, count, ticket) {
  const round = addressRound++
  const plans = workers.map(() => [])
  for (let i = 0; i < count; i++) {
    const localAddress = `127.0.0.${2 + ((round * 2 + Math.floor(i / 20000)) % 250)}`
    plans[i % workers.length].push({ topics: topicsOf(i), localAddress })
  }
  const replies = await Promise.all(workers.map((w, i) => call(w, {
    cmd: 'connect', kind: clientKind, port: server.port, ticket, plan: plans[i], concurrency: settings.connectConcurrency
  })))
  const connected = replies.reduce((a, r) => a + r.connected, 0)
  const failed = replies.reduce((a, r) => a + r.failed, 0)
  if (failed > 0) throw new Error(`${failed} of ${count} clients failed to connect`)
  return { connected, ms: Math.max(...replies.map((r) => r.ms)) }
}

// --- events --------------------------------------------------------------------------------------

const nowUs = () => Number(process.hrtime.bigint() / 1000n)
const eventJson = (seq) => `{"s":${seq},"t":${nowUs()},"tagname":"${PAYLOAD_TAG}"}`
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Probes until every client has seen one: subscriptions are then in effect everywhere. */
async function awaitSubscriptions (publisher, topics, clients) {
  await all({ cmd: 'resetProbes' })
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    for (const topic of topics) publisher.publish(topic, eventJson(-1))
    await sleep(150)
    const replies = await all({ cmd: 'probes' })
    if (replies.reduce((a, r) => a + r.probed, 0) >= clients) return
  }
  throw new Error('subscriptions not in effect after 30 s')
}

/** Waits until `target` deliveries arrived, or nothing arrived for 3 s. */
async function awaitDeliveries (target, deadlineMs) {
  let last = -1
  let lastChange = Date.now()
  for (;;) {
    const replies = await all({ cmd: 'count' })
    const got = replies.reduce((a, r) => a + r.received, 0)
    if (got >= target) return got
    if (got !== last) { last = got; lastChange = Date.now() }
    if (Date.now() - lastChange > 3000 || Date.now() > deadlineMs) return got
    await sleep(20)
  }
}

function mergeReports (replies) {
  const hist = new Map()
  let received = 0, lost = 0, duplicates = 0, maxUs = 0, lastUs = 0
  for (const r of replies) {
    received += r.received; lost += r.lost; duplicates += r.duplicates
    maxUs = Math.max(maxUs, r.maxUs); lastUs = Math.max(lastUs, r.lastUs)
    for (let i = 0; i < r.hist.length; i += 2) hist.set(r.hist[i], (hist.get(r.hist[i]) ?? 0) + r.hist[i + 1])
  }
  const sorted = [...hist.entries()].sort((a, b) => a[0] - b[0])
  const quantile = (q) => {
    const want = q * received
    let seen = 0
    for (const [bucket, n] of sorted) { seen += n; if (seen >= want) return (bucket + 0.5) * 10 }
    return maxUs
  }
  return { received, lost, duplicates, maxUs, lastUs, p50Us: quantile(0.5), p99Us: quantile(0.99) }
}

/** One measured run: arm, publish (burst or at a rate), wait, account. */
async function measure (server, publisher, { topics, subsPerTopic, events, perSecond }) {
  await all({ cmd: 'arm', events })
  const target = topics.length * subsPerTopic * events
  const cpu0 = cpuMs(server.pid)
  const split0 = cpuSplitMs(server.pid)
  const t0 = nowUs()
  if (perSecond === undefined) {
    for (let seq = 0; seq < events; seq++) {
      for (const topic of topics) publisher.publish(topic, eventJson(seq))
      // HTTP: keep at most 8 requests in flight (the agent's sockets) and let them finish.
      if (publisher.failures !== undefined && seq % 8 === 7) await publisher.pending()
    }
  } else {
    const interval = 1e6 / perSecond
    for (let seq = 0; seq < events; seq++) {
      const due = t0 + seq * interval
      const wait = due - nowUs()
      if (wait > 1500) await sleep(Math.floor(wait / 1000) - 1)
      while (nowUs() < due) await new Promise(setImmediate)
      for (const topic of topics) publisher.publish(topic, eventJson(seq))
    }
  }
  await publisher.pending()
  await awaitDeliveries(target, Date.now() + 120000)
  const cpu1 = cpuMs(server.pid)
  const split1 = cpuSplitMs(server.pid)
  const report = mergeReports(await all({ cmd: 'report' }))
  const seconds = Math.max(report.lastUs - t0, 1) / 1e6
  return {
    deliveries: report.received,
    expected: target,
    lost: report.lost,
    duplicates: report.duplicates,
    publishFailures: publisher.failures ?? 0,
    seconds,
    deliveriesPerSecond: report.received / seconds,
    cpuMs: cpu1 - cpu0,
    systemShare: (split1.system - split0.system) / Math.max(1, cpu1 - cpu0),
    cpuUsPerDelivery: report.received === 0 ? null : (cpu1 - cpu0) * 1000 / report.received,
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    maxMs: report.maxUs / 1000
  }
}

// --- scenarios -----------------------------------------------------------------------------------

async function fanoutScenario (name, serverName) {
  const def = SERVERS[serverName]
  const shape = {
    burst: { topics: ['bench/one'], subsPerTopic: settings.burst.subscribers, events: settings.burst.events },
    rate: { topics: ['bench/one'], subsPerTopic: settings.rate.subscribers, events: settings.rate.perSecond * settings.rate.seconds, perSecond: settings.rate.perSecond },
    wide: { topics: ['bench/one'], subsPerTopic: settings.wide.subscribers, events: settings.wide.events },
    topics: { topics: Array.from({ length: settings.topics.topics }, (_, i) => `bench/t${i}`), subsPerTopic: settings.topics.perTopic, events: settings.topics.events }
  }[name]
  const server = await startServer(def.start)
  try {
    const ticket = anonymousTicket(SECRET)
    const count = shape.topics.length * shape.subsPerTopic
    const conn = await connectClients(server, def.clients, (i) => [shape.topics[i % shape.topics.length]], count, ticket)
    const publisher = await openPublisher(def.publisher, { port: server.port, ticket, key: KEY })
    await awaitSubscriptions(publisher, shape.topics, count)
    // Warm-up: a tenth of the run, not measured (the JIT, the sockets' buffers).
    await measure(server, publisher, { ...shape, events: Math.max(10, Math.floor(shape.events / 10)), perSecond: shape.perSecond === undefined ? undefined : shape.perSecond * 4 })
    const runs = []
    for (let r = 0; r < settings.repeat; r++) runs.push(await measure(server, publisher, shape))
    await publisher.close()
    const { peak } = memory(server.pid)
    return { connectMs: conn.ms, runs, peakRss: peak }
  } finally {
    await all({ cmd: 'closeAll' })
    await server.stop()
  }
}

async function gcAndRss (server) {
  process.kill(server.pid, 'SIGUSR2')
  await sleep(500)
  process.kill(server.pid, 'SIGUSR2')
  await sleep(500)
  if (process.env.BENCH_MEMORY_FILE) console.error(`  ${readFileSync(process.env.BENCH_MEMORY_FILE, 'utf8')}`)
  return memory(server.pid).rss
}

async function idleScenario (serverName) {
  const def = SERVERS[serverName]
  const server = await startServer(def.start)
  try {
    const ticket = anonymousTicket(SECRET)
    const n = settings.idle.connections
    const before = await gcAndRss(server)
    const conn = await connectClients(server, def.clients, () => ['bench/idle'], n, ticket)
    await sleep(1000)
    const after = await gcAndRss(server)
    const { peak } = memory(server.pid)
    if (process.env.BENCH_HEAP_SNAPSHOT) await sleep(8000)
    return { connectMs: conn.ms, connections: conn.connected, rssBefore: before, rssAfter: after, rssPerConnection: (after - before) / conn.connected, peakRss: peak }
  } finally {
    await all({ cmd: 'closeAll' })
    await server.stop()
  }
}

async function rpsScenario (serverName) {
  const server = await startServer(serverName === 'bare-fastify' ? 'bare-fastify' : 'gateway')
  try {
    const runs = []
    for (let r = 0; r < settings.repeat; r++) {
      const result = await autocannon({
        url: `http://127.0.0.1:${server.port}/publish`,
        method: 'POST',
        connections: settings.rps.connections,
        duration: settings.rps.seconds,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ topic: 'bench/nobody', data: { s: 1, t: 0, tagname: PAYLOAD_TAG } })
      })
      runs.push({ rps: result.requests.average, non2xx: result.non2xx, errors: result.errors, p99Ms: result.latency.p99 })
    }
    return { runs, peakRss: memory(server.pid).peak }
  } finally {
    await server.stop()
  }
}

// --- summary, table, files -----------------------------------------------------------------------

function stat (values) {
  const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  return { median: v[Math.floor((v.length - 1) / 2)], min: v[0], max: v[v.length - 1] }
}

function summarize (scenario, result) {
  if (result.error !== undefined) return { error: result.error }
  if (scenario === 'idle') return { rssPerConnectionKB: result.rssPerConnection / 1024, peakRssMB: result.peakRss / 2 ** 20, connectMs: result.connectMs }
  if (scenario === 'rps') return { rps: stat(result.runs.map((r) => r.rps)), non2xx: result.runs.reduce((a, r) => a + r.non2xx, 0), peakRssMB: result.peakRss / 2 ** 20 }
  const runs = result.runs
  return {
    deliveriesPerSecond: stat(runs.map((r) => r.deliveriesPerSecond)),
    cpuUsPerDelivery: stat(runs.map((r) => r.cpuUsPerDelivery)),
    p50Ms: stat(runs.map((r) => r.p50Ms)),
    p99Ms: stat(runs.map((r) => r.p99Ms)),
    maxMs: stat(runs.map((r) => r.maxMs)),
    systemShare: stat(runs.map((r) => r.systemShare)),
    lost: runs.reduce((a, r) => a + r.lost, 0),
    duplicates: runs.reduce((a, r) => a + r.duplicates, 0),
    publishFailures: runs.reduce((a, r) => a + r.publishFailures, 0),
    deliveries: runs.reduce((a, r) => a + r.deliveries, 0),
    peakRssMB: result.peakRss / 2 ** 20
  }
}

const fmt = (x, digits = 2) => x === null || x === undefined ? '-' : x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits)
const spread = (s, digits = 2) => s === null || s === undefined ? '-' : settings.repeat > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}-${fmt(s.max, digits)})` : fmt(s.median, digits)

function table (results) {
  const rows = [['scenario', 'server', 'deliveries/s', 'CPU µs/delivery', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'RSS/idle conn KB', 'peak RSS MB', 'publish rps']]
  for (const s of SCENARIOS) {
    for (const serverName of s.servers) {
      const r = results[s.name]?.[serverName]
      if (r === undefined) continue
      const label = SERVERS[serverName]?.label ?? 'bare Fastify 202 route'
      if (r.error !== undefined) { rows.push([s.name, label, `ERROR: ${r.error}`]); continue }
      const lat = s.name === 'rate'
      rows.push([s.name, label,
        r.deliveriesPerSecond ? spread(r.deliveriesPerSecond, 0) : '',
        r.cpuUsPerDelivery ? spread(r.cpuUsPerDelivery) : '',
        lat ? spread(r.p50Ms) : '', lat ? spread(r.p99Ms) : '', lat ? fmt(r.maxMs?.max) : '',
        r.lost ?? '', r.duplicates ?? '',
        r.rssPerConnectionKB !== undefined ? fmt(r.rssPerConnectionKB, 1) : '',
        fmt(r.peakRssMB, 0),
        r.rps ? spread(r.rps, 0) : ''])
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i] ?? '').length)))
  const line = (row) => '| ' + row.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ') + ' |'
  return [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n')
}

function targets (results) {
  const m = (scenario, server, key) => results[scenario]?.[server]?.[key]?.median ?? results[scenario]?.[server]?.[key]
  const lines = []
  const check = (what, value, limit, ratioText) => {
    if (value === undefined || limit === undefined || value === null || limit === null) return
    lines.push({ what, value, limit, met: value <= limit, text: `${value <= limit ? 'MET ' : 'MISS'} ${what}: ${ratioText}` })
  }
  const naiveBurst = m('burst', 'naive-ws', 'cpuUsPerDelivery')
  const sioBurst = m('burst', 'socketio', 'cpuUsPerDelivery')
  const naiveRate = m('rate', 'naive-ws', 'cpuUsPerDelivery')
  const naiveP99 = m('rate', 'naive-ws', 'p99Ms')
  for (const gw of ['gateway-wamp', 'gateway-http']) {
    const burst = m('burst', gw, 'cpuUsPerDelivery')
    if (burst !== undefined && naiveBurst !== undefined) check(`${gw} burst CPU/delivery <= 0.5x naive ws`, burst / naiveBurst, 0.5, `${fmt(burst)} µs vs ${fmt(naiveBurst)} µs = ${fmt(burst / naiveBurst)}x`)
    if (burst !== undefined && sioBurst !== undefined) check(`${gw} burst CPU/delivery <= 0.35x Socket.IO`, burst / sioBurst, 0.35, `${fmt(burst)} µs vs ${fmt(sioBurst)} µs = ${fmt(burst / sioBurst)}x`)
    const rate = m('rate', gw, 'cpuUsPerDelivery')
    if (rate !== undefined && naiveRate !== undefined) check(`${gw} fixed-rate CPU/delivery <= 0.7x naive ws`, rate / naiveRate, 0.7, `${fmt(rate)} µs vs ${fmt(naiveRate)} µs = ${fmt(rate / naiveRate)}x`)
    const p99 = m('rate', gw, 'p99Ms')
    if (p99 !== undefined && naiveP99 !== undefined) check(`${gw} fixed-rate p99 <= 1.1x naive ws`, p99 / naiveP99, 1.1, `${fmt(p99)} ms vs ${fmt(naiveP99)} ms = ${fmt(p99 / naiveP99)}x`)
  }
  const idleGw = results.idle?.['gateway-wamp']?.rssPerConnectionKB
  const idleNaive = results.idle?.['naive-ws']?.rssPerConnectionKB
  if (idleGw !== undefined && idleNaive !== undefined) check('RSS per idle connection <= naive ws', idleGw / idleNaive, 1, `${fmt(idleGw, 1)} KB vs ${fmt(idleNaive, 1)} KB = ${fmt(idleGw / idleNaive)}x`)
  const rpsGw = m('rps', 'gateway-http', 'rps')
  const rpsBare = m('rps', 'bare-fastify', 'rps')
  if (rpsGw !== undefined && rpsBare !== undefined) check('POST /publish rps >= 0.8x bare Fastify', rpsBare / rpsGw, 1 / 0.8, `${fmt(rpsGw, 0)} vs ${fmt(rpsBare, 0)} rps = ${fmt(rpsGw / rpsBare)}x`)
  return lines
}

// --- main ----------------------------------------------------------------------------------------

async function main () {
  const started = Date.now()
  const machine = {
    cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), kernel: release(),
    node: process.version, gateway: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    ws: JSON.parse(readFileSync(join(root, 'node_modules/ws/package.json'), 'utf8')).version,
    socketio: JSON.parse(readFileSync(join(root, 'node_modules/socket.io/package.json'), 'utf8')).version,
    fastify: JSON.parse(readFileSync(join(root, 'node_modules/fastify/package.json'), 'utf8')).version
  }
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, Linux ${machine.kernel}, Node ${machine.node}`)
  console.log(`settings: ${JSON.stringify(settings)}`)
  console.log('gateway: production mode (--env=prod), WAMP v1 clients with an anonymous Oro ticket, Origin http://localhost')
  startWorkers()
  const results = {}
  const raw = {}
  try {
    for (const s of SCENARIOS) {
      if (onlyScenarios !== null && !onlyScenarios.includes(s.name)) continue
      for (const serverName of s.servers) {
        if (onlyServers !== null && !onlyServers.includes(serverName)) continue
        const t = Date.now()
        let result
        try {
          result = s.name === 'idle' ? await idleScenario(serverName) : s.name === 'rps' ? await rpsScenario(serverName) : await fanoutScenario(s.name, serverName)
        } catch (err) {
          result = { error: err.message.split('\n')[0] }
          console.error(err)
        }
        ;(raw[s.name] ??= {})[serverName] = result
        ;(results[s.name] ??= {})[serverName] = summarize(s.name, result)
        console.error(`  ${s.name} / ${serverName}: ${((Date.now() - t) / 1000).toFixed(1)} s ${JSON.stringify(results[s.name][serverName])}`)
      }
    }
  } finally {
    await all({ cmd: 'exit' }).catch(() => {})
  }
  const text = table(results)
  const checks = targets(results)
  console.log('\nScenarios:')
  for (const s of SCENARIOS) console.log(`  ${s.name}: ${s.title}`)
  console.log(`\nMedian of ${settings.repeat} run(s) after a warm-up${settings.repeat > 1 ? ', (min-max) in brackets' : ''}; CPU = server user+system from /proc/<pid>/stat.\n`)
  console.log(text)
  console.log('\nTargets:')
  for (const c of checks) console.log('  ' + c.text)
  const seconds = (Date.now() - started) / 1000
  console.log(`\n(${seconds.toFixed(0)} s)`)
  const out = { date: new Date().toISOString(), machine, settings, scenarios: SCENARIOS.map(({ name, title }) => ({ name, title })), results, targets: checks, raw, seconds }
  mkdirSync(join(here, 'results'), { recursive: true })
  const base = args.out ?? (quick ? 'latest-quick' : 'latest')
  writeFileSync(join(here, 'results', `${base}.json`), JSON.stringify(out, null, 2) + '\n')
  writeFileSync(join(here, 'results', `${base}.md`), text + '\n\n' + checks.map((c) => '- ' + c.text).join('\n') + '\n')
  writeFileSync(join(here, 'results', `${base}.svg`), renderChart(out, SERVERS))
  console.log(`wrote bench/results/${base}.json, .md and .svg`)
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
