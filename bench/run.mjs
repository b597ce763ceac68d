#!/usr/bin/env node
// npm run bench [-- --quick] [--only=gateway-wamp,naive-ws] [--scenarios=burst,rate] [--repeat=N]
//
// The fan-out benchmark: the same load generator (worker processes holding `ws` clients) against
// each server in turn, every server started fresh as a child process for every scenario, all on
// loopback. Prints a table, writes bench/results/latest.json and bench/results/latest.svg.
//
// The gateway's subscribers are browsers, its publishers backends. The gateway runs with
// ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32 (and 127.0.0.1 its only trusted proxy); the
// publisher (WAMP backend session, or POST /publish with a key) connects from 127.0.0.1, every
// subscriber from another loopback address (Linux routes all of 127/8 to lo) with its own
// anonymous ticket, so subscribers meet admission, the per-ticket session cap and the browser
// message limit as pages do. Subscribers are spread over 16 /24s (127.R.0-15.x, R new for each
// scenario so TIME_WAIT from one never limits the next): admission queues per /24 and never
// refuses a clean network, so one /24 would work too; 16 is closer to pages from many offices.
// Tickets: one pool (as many as the largest scenario's subscribers) made by the worker processes
// before the first gateway scenario, while they hold no session; the gateway runs with
// ORO_WEBSOCKET_TICKET_LIFETIME=3600 so the pool lasts the run (remade when it gets old). Each
// gateway process is started fresh, so it sees every ticket once, as from a page.
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs'
import { cpus, totalmem, release } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import autocannon from 'autocannon'
import { anonymousTicket } from './lib/ticket.mjs'
import { cpuMs, cpuSplitMs, memory } from './lib/proc.mjs'
import { openPublisher } from './lib/publishers.mjs'
import { openClient } from './lib/clients.mjs'
import { freePort, waitListening } from './lib/net.mjs'
import { buildGo } from './lib/go-build.mjs'
import { renderChart } from './lib/chart.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=')
  return [k, v ?? true]
}))
if (process.argv[2] === 'storm') {
  // npm run bench -- storm [--n=...]: the reconnect storm has its own script.
  await import('./storm.mjs')
  await new Promise(() => {})
}
const quick = args.quick === true
// --gateway=PATH runs another build of the gateway (e.g. a snapshot of a commit) instead of dist/.
const GATEWAY_CLI = typeof args.gateway === 'string' ? join(process.cwd(), args.gateway) : join(root, 'dist/cli.js')
const SECRET = 'bench-oro-secret'
const KEY = 'bench-publish-key-0123456789abcdef'
const PAYLOAD_TAG = 'Oro_Bundle_UserBundle_Entity_User_1'
const TICKET_LIFETIME_S = 3600

// --- settings ------------------------------------------------------------------------------------

const settings = {
  quick,
  workers: Number(args.workers ?? 2),
  repeat: Number(args.repeat ?? (quick ? 1 : 3)),
  burst: { subscribers: 1000, events: quick ? 300 : 1000 },
  rate: { subscribers: 1000, perSecond: Number(args.rate ?? 50), seconds: quick ? 3 : 5 },
  single: { subscribers: 1000, events: quick ? 300 : 1000, inFlight: 4 },
  multinode: { nodes: 3, subscribers: 1000, perSecond: Number(args.rate ?? 50), seconds: quick ? 3 : 5 },
  memory: { stages: typeof args.stages === 'string' ? args.stages.split(',').map(Number) : quick ? [1, 1000, 4000] : [1, 2000, 8000] },
  wide: { subscribers: quick ? 4000 : 10000, events: quick ? 50 : 100 },
  topics: { topics: quick ? 40 : 100, perTopic: 100, events: quick ? 50 : 100 },
  rps: { connections: 10, seconds: quick ? 3 : 5 },
  connectConcurrency: 64
}

const SERVERS = {
  'gateway-http': { label: 'gateway, POST /publish', start: 'gateway', clients: 'wamp', publisher: 'http' },
  'gateway-wamp': { label: 'gateway, WAMP backend', start: 'gateway', clients: 'wamp', publisher: 'wamp' },
  centrifuge: { label: 'Go Centrifuge, HTTP publish', start: 'centrifuge', clients: 'centrifuge', publisher: 'http' },
  'naive-ws': { label: 'naive ws broadcast', start: 'naive-ws', clients: 'ws', publisher: 'ws' },
  'naive-ws-corked': { label: 'naive ws, corked per turn', start: 'naive-ws-corked', clients: 'ws', publisher: 'ws' },
  socketio: { label: 'Socket.IO 4 rooms', start: 'socketio', clients: 'sio', publisher: 'sio' }
}
const FANOUT = Object.keys(SERVERS)
const ONE_PER_SERVER = ['gateway-wamp', 'centrifuge', 'naive-ws', 'naive-ws-corked', 'socketio']

// Rows the way Oro traffic looks first (fixed rate, single-event publishes, idle memory, several
// nodes), the batch bursts after them.
const SCENARIOS = [
  { name: 'rate', title: `${settings.rate.subscribers} subs, 1 topic, ${settings.rate.perSecond} events/s for ${settings.rate.seconds} s`, servers: FANOUT },
  { name: 'single', title: `${settings.single.subscribers} subs, 1 topic, ${settings.single.events} events, one per publish (one per POST /publish or WAMP PUBLISH), ${settings.single.inFlight} in flight`, servers: FANOUT },
  { name: 'idle', title: `RSS at start, after the first connection, at ${settings.memory.stages.slice(1).join(' and ')} idle connections (1 subscription each)`, servers: ONE_PER_SERVER },
  { name: 'multinode', title: `${settings.multinode.nodes} gateway nodes on one Redis, ${settings.multinode.subscribers} subs spread over them, ${settings.multinode.perSecond} events/s for ${settings.multinode.seconds} s published on node 1`, servers: ['gateway-http', 'gateway-wamp'] },
  { name: 'burst', title: `${settings.burst.subscribers} subs, 1 topic, burst of ${settings.burst.events}`, servers: FANOUT },
  { name: 'wide', title: `${settings.wide.subscribers} subs, 1 topic, burst of ${settings.wide.events}`, servers: FANOUT },
  { name: 'topics', title: `${settings.topics.topics} topics x ${settings.topics.perTopic} subs, burst of ${settings.topics.events} per topic`, servers: FANOUT },
  { name: 'rps', title: `POST /publish, ${settings.rps.connections} connections, ${settings.rps.seconds} s (no subscribers)`, servers: ['gateway-http', 'bare-fastify'] }
]

const onlyServers = typeof args.only === 'string' ? args.only.split(',') : null
const onlyScenarios = typeof args.scenarios === 'string' ? args.scenarios.split(',') : null

// --- servers -------------------------------------------------------------------------------------

class Skip extends Error {}

async function startServer (kind, extraEnv = {}) {
  const port = await freePort()
  const node = [...(args.prof === kind ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []),
    '--expose-gc', '-r', join(here, 'lib', 'preload.cjs')]
  let argv
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port) }
  if (process.env.BENCH_MEMORY_FILE) env.BENCH_MEMORY_FILE = process.env.BENCH_MEMORY_FILE
  if (process.env.BENCH_HEAP_SNAPSHOT) env.BENCH_HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT
  let command = process.execPath
  if (kind === 'gateway') {
    argv = [...node, GATEWAY_CLI, 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)]
    Object.assign(env, {
      ORO_SECRET: SECRET,
      ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
      ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml'),
      // Only the publisher (127.0.0.1) is a backend; subscribers come from 127.R.x.y as browsers.
      ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
      ORO_WEBSOCKET_TRUSTED_PROXIES: '127.0.0.1/32',
      ORO_WEBSOCKET_TICKET_LIFETIME: String(TICKET_LIFETIME_S)
    }, extraEnv)
  } else if (kind === 'centrifuge') {
    const build = buildGo('centrifuge-server')
    if (build.skip !== undefined) throw new Skip(build.skip)
    command = build.path
    argv = []
  } else {
    argv = [...node, join(here, 'servers', `${kind}.mjs`)]
  }
  const child = spawn(command, argv, { cwd: here, env, stdio: ['ignore', 'ignore', 'pipe'] })
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
    node: command === process.execPath,
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

// One anonymous ticket per gateway subscriber, made by the workers (in parallel, off the runner's
// loop) while they hold no session: before the first gateway scenario, again when the pool is old.
let ticketPool = { tickets: [], made: 0 }
async function poolOfTickets () {
  // As many as the largest scenario run has subscribers, and one for the observer.
  const subscribers = { rate: settings.rate.subscribers, single: settings.single.subscribers, burst: settings.burst.subscribers, multinode: settings.multinode.subscribers,
    wide: settings.wide.subscribers, topics: settings.topics.topics * settings.topics.perTopic, idle: Math.max(...settings.memory.stages) }
  const size = Math.max(...Object.keys(subscribers).filter((name) => onlyScenarios === null || onlyScenarios.includes(name)).map((name) => subscribers[name])) + 1
  if (ticketPool.tickets.length >= size && Date.now() - ticketPool.made < (TICKET_LIFETIME_S - 900) * 1000) return ticketPool.tickets
  const made = Date.now()
  const each = Math.ceil(size / workers.length)
  const replies = await Promise.all(workers.map((w) => call(w, { cmd: 'tickets', secret: SECRET, count: each })))
  ticketPool = { tickets: replies.flatMap((r) => r.tickets), made }
  console.error(`  ${ticketPool.tickets.length} tickets made in ${((Date.now() - made) / 1000).toFixed(1)} s`)
  return ticketPool.tickets
}

let addressRound = 0
/**
 * Spreads clients over the workers and over 16 /24s of fresh loopback addresses (127.R.0-15.x, a
 * new R per call). With `tickets`, client i gets tickets[first + i], its own (a browser's).
 */
async function connectClients (server, clientKind, topicsOf, count, { tickets, first = 0 } = {}) {
  const round = addressRound++
  const plans = workers.map(() => [])
  for (let i = 0; i < count; i++) {
    const localAddress = `127.${1 + (round % 250)}.${i % 16}.${2 + (Math.floor(i / 16) % 250)}`
    const spec = { topics: topicsOf(i), localAddress }
    if (tickets !== undefined) spec.ticket = tickets[first + i]
    plans[i % workers.length].push(spec)
  }
  const replies = await Promise.all(workers.map((w, i) => call(w, {
    cmd: 'connect', kind: clientKind, port: server.port, plan: plans[i], concurrency: settings.connectConcurrency
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

const S_KEY = Buffer.from('{"s":')
/** The highest event sequence number in a frame, or -2 when it carries none. */
function maxSeq (buf) {
  let max = -2
  for (let at = buf.indexOf(S_KEY); at !== -1; at = buf.indexOf(S_KEY, at + 1)) {
    let i = at + S_KEY.length
    let neg = false
    if (buf[i] === 45) { neg = true; i++ }
    let n = 0
    for (let c = buf[i]; c >= 48 && c <= 57; c = buf[++i]) n = n * 10 + (c - 48)
    if (!neg && n > max) max = n
  }
  return max
}

/**
 * An extra subscriber held by the runner itself: it tells how far delivery has got, so a publisher
 * that gets no answer (a WebSocket one) can keep a fixed number of events in flight.
 */
async function openObserver (def, port, topic, ticket) {
  const observer = { seen: -1, waiters: [], client: null }
  // A browser too (not 127.0.0.1, the backend's address), with a ticket no subscriber has.
  observer.client = await openClient(def.clients, { port, ticket, topics: [topic], localAddress: '127.0.0.2' }, (_client, buf) => {
    const seq = maxSeq(buf)
    if (seq > observer.seen) observer.seen = seq
    const waiters = observer.waiters
    observer.waiters = []
    for (const resolve of waiters) resolve()
  })
  if (observer.client === null) throw new Error('observer failed to connect')
  observer.next = () => new Promise((resolve) => { observer.waiters.push(resolve); setTimeout(resolve, 1000) })
  observer.reset = () => { observer.seen = -1 }
  observer.close = () => observer.client.ws.terminate()
  return observer
}

/** One measured run: arm, publish (a burst, at a rate, or one event at a time), wait, account. */
async function measure (servers, publisher, { topics, subsPerTopic, events, perSecond, inFlight, observer }) {
  await all({ cmd: 'arm', events })
  const target = topics.length * subsPerTopic * events
  const cpu0 = servers.map((s) => cpuMs(s.pid))
  const split0 = servers.map((s) => cpuSplitMs(s.pid))
  const t0 = nowUs()
  if (inFlight !== undefined) {
    // One event per publish, at most inFlight of them unanswered (HTTP) or not yet seen by the
    // observer (WebSocket publishers, which get no answer).
    const http = publisher.failures !== undefined
    const open = new Set()
    observer?.reset()
    for (let seq = 0; seq < events; seq++) {
      if (http) {
        while (open.size >= inFlight) await Promise.race(open)
      } else {
        while (seq - 1 - observer.seen >= inFlight) await observer.next()
      }
      for (const topic of topics) {
        const done = publisher.publish(topic, eventJson(seq))
        if (http) { open.add(done); done.then(() => open.delete(done)) }
      }
    }
  } else if (perSecond === undefined) {
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
  const cpu1 = servers.map((s) => cpuMs(s.pid))
  const split1 = servers.map((s) => cpuSplitMs(s.pid))
  const report = mergeReports(await all({ cmd: 'report' }))
  const seconds = Math.max(report.lastUs - t0, 1) / 1e6
  const sum = (a) => a.reduce((x, y) => x + y, 0)
  const cpu = sum(cpu1) - sum(cpu0)
  const user = sum(split1.map((x) => x.user)) - sum(split0.map((x) => x.user))
  const system = sum(split1.map((x) => x.system)) - sum(split0.map((x) => x.system))
  return {
    deliveries: report.received,
    expected: target,
    lost: report.lost,
    duplicates: report.duplicates,
    publishFailures: publisher.failures ?? 0,
    seconds,
    deliveriesPerSecond: report.received / seconds,
    cpuMs: cpu,
    cpuMsPerServer: cpu1.map((c, i) => c - cpu0[i]),
    systemShare: system / Math.max(1, cpu),
    userUsPerDelivery: report.received === 0 ? null : user * 1000 / report.received,
    systemUsPerDelivery: report.received === 0 ? null : system * 1000 / report.received,
    cpuUsPerDelivery: report.received === 0 ? null : cpu * 1000 / report.received,
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    maxMs: report.maxUs / 1000
  }
}

// --- scenarios -----------------------------------------------------------------------------------

function shapeOf (name) {
  return {
    burst: { topics: ['bench/one'], subsPerTopic: settings.burst.subscribers, events: settings.burst.events },
    rate: { topics: ['bench/one'], subsPerTopic: settings.rate.subscribers, events: settings.rate.perSecond * settings.rate.seconds, perSecond: settings.rate.perSecond },
    single: { topics: ['bench/one'], subsPerTopic: settings.single.subscribers, events: settings.single.events, inFlight: settings.single.inFlight },
    multinode: { topics: ['bench/one'], subsPerTopic: settings.multinode.subscribers, events: settings.multinode.perSecond * settings.multinode.seconds, perSecond: settings.multinode.perSecond },
    wide: { topics: ['bench/one'], subsPerTopic: settings.wide.subscribers, events: settings.wide.events },
    topics: { topics: Array.from({ length: settings.topics.topics }, (_, i) => `bench/t${i}`), subsPerTopic: settings.topics.perTopic, events: settings.topics.events }
  }[name]
}

/** Connect, wait for the subscriptions, warm up (a tenth of the events, not counted), measure. */
async function runFanout (servers, def, shape, spreadOver = servers) {
  const count = shape.topics.length * shape.subsPerTopic
  // Gateway subscribers: a ticket each (tickets[count] is the observer's); the publisher is a
  // backend (from 127.0.0.1, not counted against any ticket).
  const tickets = def.clients === 'wamp' ? await poolOfTickets() : undefined
  const ticket = anonymousTicket(SECRET)
  let connectMs = 0
  let first = 0
  for (let k = 0; k < spreadOver.length; k++) {
    const share = Math.floor(count / spreadOver.length) + (k < count % spreadOver.length ? 1 : 0)
    const conn = await connectClients(spreadOver[k], def.clients, (i) => [shape.topics[(first + i) % shape.topics.length]], share, { tickets, first })
    connectMs += conn.ms
    first += share
  }
  const publisher = await openPublisher(def.publisher, { port: servers[0].port, ticket, key: KEY })
  const observer = shape.inFlight !== undefined && publisher.failures === undefined ? await openObserver(def, servers[0].port, shape.topics[0], tickets?.[count] ?? ticket) : undefined
  try {
    await awaitSubscriptions(publisher, shape.topics, count)
    await measure(servers, publisher, { ...shape, observer, events: Math.max(10, Math.floor(shape.events / 10)), perSecond: shape.perSecond === undefined ? undefined : shape.perSecond * 4 })
    const runs = []
    for (let r = 0; r < settings.repeat; r++) runs.push(await measure(servers, publisher, { ...shape, observer }))
    return { connectMs, runs, peakRss: Math.max(...servers.map((s) => memory(s.pid).peak)) }
  } finally {
    observer?.close()
    await publisher.close()
  }
}

async function fanoutScenario (name, serverName) {
  const def = SERVERS[serverName]
  const server = await startServer(def.start)
  try {
    return await runFanout([server], def, shapeOf(name))
  } finally {
    await all({ cmd: 'closeAll' })
    await server.stop()
  }
}

async function startRedis () {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const failed = new Promise((resolve) => child.on('error', resolve))
  const ok = await Promise.race([waitListening(port, child).then(() => true), failed.then(() => false)])
  if (!ok) throw new Skip('redis-server not found (apt-get install redis-server)')
  return { port, stop: async () => { child.kill('SIGKILL'); if (child.exitCode === null) await once(child, 'exit') } }
}

async function multinodeScenario (serverName) {
  const def = SERVERS[serverName]
  const redis = await startRedis()
  const nodes = []
  try {
    for (let k = 0; k < settings.multinode.nodes; k++) nodes.push(await startServer('gateway', { ORO_WEBSOCKET_BROKER_DSN: `redis://127.0.0.1:${redis.port}` }))
    const result = await runFanout(nodes, def, shapeOf('multinode'))
    // Subscribers are spread evenly: each node delivered its share of every run's deliveries.
    const share = (k) => (Math.floor(settings.multinode.subscribers / nodes.length) + (k < settings.multinode.subscribers % nodes.length ? 1 : 0)) / settings.multinode.subscribers
    for (const run of result.runs) run.cpuUsPerDeliveryPerNode = run.cpuMsPerServer.map((ms, k) => ms * 1000 / Math.max(1, run.deliveries * share(k)))
    return result
  } finally {
    await all({ cmd: 'closeAll' })
    for (const node of nodes) await node.stop()
    await redis.stop()
  }
}

async function gcAndRss (server) {
  if (server.node) {
    process.kill(server.pid, 'SIGUSR2')
    await sleep(500)
    process.kill(server.pid, 'SIGUSR2')
    await sleep(500)
    if (process.env.BENCH_MEMORY_FILE) console.error(`  ${readFileSync(process.env.BENCH_MEMORY_FILE, 'utf8')}`)
  } else {
    await sleep(1000) // Go: its own GC runs in the background; read after a pause
  }
  return memory(server.pid).rss
}

/** RSS at start, after the first connection, and at each further stage of idle connections. */
async function idleScenario (serverName) {
  const def = SERVERS[serverName]
  const server = await startServer(def.start)
  try {
    // Made before the first reading: the workers make no tickets while they hold sessions.
    const tickets = def.clients === 'wamp' ? await poolOfTickets() : undefined
    await sleep(1000)
    const stages = [{ connections: 0, rss: await gcAndRss(server) }]
    let connected = 0
    let connectMs = 0
    for (const target of settings.memory.stages) {
      const conn = await connectClients(server, def.clients, () => ['bench/idle'], target - connected, { tickets, first: connected })
      connected += conn.connected
      connectMs += conn.ms
      await sleep(target === 1 ? 200 : 1000)
      stages.push({ connections: connected, rss: await gcAndRss(server) })
    }
    const [a, b] = stages.slice(-2)
    const { peak } = memory(server.pid)
    if (process.env.BENCH_HEAP_SNAPSHOT) await sleep(8000)
    return { connectMs, stages, rssPerConnection: (b.rss - a.rss) / (b.connections - a.connections), peakRss: peak }
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
  if (result.skipped !== undefined) return { skipped: result.skipped }
  if (scenario === 'idle') {
    const mb = (x) => x / 2 ** 20
    return {
      rssStartMB: mb(result.stages[0].rss),
      rssFirstMB: mb(result.stages[1].rss),
      rssStagesMB: result.stages.slice(2).map((st) => ({ connections: st.connections, mb: mb(st.rss) })),
      rssPerConnectionKB: result.rssPerConnection / 1024,
      peakRssMB: mb(result.peakRss),
      connectMs: result.connectMs
    }
  }
  if (scenario === 'rps') return { rps: stat(result.runs.map((r) => r.rps)), non2xx: result.runs.reduce((a, r) => a + r.non2xx, 0), peakRssMB: result.peakRss / 2 ** 20 }
  const runs = result.runs
  const out = {
    deliveriesPerSecond: stat(runs.map((r) => r.deliveriesPerSecond)),
    cpuUsPerDelivery: stat(runs.map((r) => r.cpuUsPerDelivery)),
    userUsPerDelivery: stat(runs.map((r) => r.userUsPerDelivery)),
    systemUsPerDelivery: stat(runs.map((r) => r.systemUsPerDelivery)),
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
  if (runs[0]?.cpuUsPerDeliveryPerNode !== undefined) out.cpuUsPerDeliveryPerNode = runs[0].cpuUsPerDeliveryPerNode.map((_, k) => stat(runs.map((r) => r.cpuUsPerDeliveryPerNode[k])))
  return out
}

const fmt = (x, digits = 2) => x === null || x === undefined ? '-' : x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits)
const spread = (s, digits = 2) => s === null || s === undefined ? '-' : settings.repeat > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}-${fmt(s.max, digits)})` : fmt(s.median, digits)
const LATENCY = new Set(['rate', 'single', 'multinode'])

function render (rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i] ?? '').length)))
  const line = (row) => '| ' + row.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ') + ' |'
  return [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n')
}

function table (results) {
  const fan = [['scenario', 'server', 'deliveries/s', 'CPU µs/delivery', 'user / sys µs', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'peak RSS MB']]
  const mem = [['server', 'RSS at start MB', 'after 1st connection MB', ...settings.memory.stages.slice(1).map((n) => `at ${n.toLocaleString('en-US')} MB`), 'KB per connection (slope)', 'peak RSS MB']]
  const rps = [['server', 'POST /publish requests/s', 'non-2xx', 'peak RSS MB']]
  for (const s of SCENARIOS) {
    for (const serverName of s.servers) {
      const r = results[s.name]?.[serverName]
      if (r === undefined) continue
      const label = SERVERS[serverName]?.label ?? 'bare Fastify 202 route'
      const problem = r.error !== undefined ? `ERROR: ${r.error}` : r.skipped !== undefined ? `skipped: ${r.skipped}` : undefined
      if (s.name === 'idle') {
        mem.push(problem !== undefined ? [label, problem] : [label, fmt(r.rssStartMB, 1), fmt(r.rssFirstMB, 1), ...r.rssStagesMB.map((st) => fmt(st.mb, 1)), fmt(r.rssPerConnectionKB, 1), fmt(r.peakRssMB, 0)])
      } else if (s.name === 'rps') {
        rps.push(problem !== undefined ? [label, problem] : [label, spread(r.rps, 0), r.non2xx, fmt(r.peakRssMB, 0)])
      } else if (problem !== undefined) {
        fan.push([s.name, label, problem])
      } else {
        const lat = LATENCY.has(s.name)
        const perNode = r.cpuUsPerDeliveryPerNode !== undefined ? ` [per node ${r.cpuUsPerDeliveryPerNode.map((x) => fmt(x?.median)).join(' / ')}]` : ''
        fan.push([s.name, label, spread(r.deliveriesPerSecond, 0), spread(r.cpuUsPerDelivery) + perNode,
          `${fmt(r.userUsPerDelivery?.median)} / ${fmt(r.systemUsPerDelivery?.median)}`,
          lat ? spread(r.p50Ms) : '', lat ? spread(r.p99Ms) : '', lat ? fmt(r.maxMs?.max) : '',
          r.lost, r.duplicates, fmt(r.peakRssMB, 0)])
      }
    }
  }
  return [fan.length > 1 ? render(fan) : '', mem.length > 1 ? '\nIdle memory (RSS after forced GCs for the Node servers):\n\n' + render(mem) : '', rps.length > 1 ? '\n' + render(rps) : ''].filter(Boolean).join('\n')
}

function targets (results) {
  const m = (scenario, server, key) => results[scenario]?.[server]?.[key]?.median ?? results[scenario]?.[server]?.[key]
  const lines = []
  const check = (what, value, limit, ratioText) => {
    if (value === undefined || limit === undefined || value === null || limit === null || Number.isNaN(value)) return
    lines.push({ what, value, limit, met: value <= limit, text: `${value <= limit ? 'MET ' : 'MISS'} ${what}: ${ratioText}` })
  }
  const ratio = (what, scenario, server, key, versus, limit, unit) => {
    const a = m(scenario, server, key)
    const b = m(scenario, versus, key)
    if (typeof a !== 'number' || typeof b !== 'number') return
    check(what, a / b, limit, `${fmt(a)} ${unit} vs ${fmt(b)} ${unit} = ${fmt(a / b)}x`)
  }
  for (const gw of ['gateway-wamp', 'gateway-http']) {
    ratio(`${gw} single-event CPU/delivery <= 0.8x Go Centrifuge`, 'single', gw, 'cpuUsPerDelivery', 'centrifuge', 0.8, 'µs')
    ratio(`${gw} single-event CPU/delivery <= naive ws corked`, 'single', gw, 'cpuUsPerDelivery', 'naive-ws-corked', 1, 'µs')
    ratio(`${gw} fixed-rate CPU/delivery <= 0.7x naive ws`, 'rate', gw, 'cpuUsPerDelivery', 'naive-ws', 0.7, 'µs')
    ratio(`${gw} fixed-rate p99 <= 1.1x naive ws`, 'rate', gw, 'p99Ms', 'naive-ws', 1.1, 'ms')
    ratio(`${gw} burst CPU/delivery <= 0.5x naive ws`, 'burst', gw, 'cpuUsPerDelivery', 'naive-ws', 0.5, 'µs')
    ratio(`${gw} burst CPU/delivery <= 0.35x Socket.IO`, 'burst', gw, 'cpuUsPerDelivery', 'socketio', 0.35, 'µs')
    const multi = m('multinode', gw, 'p99Ms')
    const one = m('rate', gw, 'p99Ms')
    if (typeof multi === 'number' && typeof one === 'number') check(`${gw} 3 nodes on Redis p99 <= 2x single node`, multi / one, 2, `${fmt(multi)} ms vs ${fmt(one)} ms = ${fmt(multi / one)}x`)
  }
  const first = results.idle?.['gateway-wamp']?.rssFirstMB
  const firstNaive = results.idle?.['naive-ws']?.rssFirstMB
  if (first !== undefined && firstNaive !== undefined) check('RSS after the first connection <= 1.2x naive ws', first / firstNaive, 1.2, `${fmt(first, 1)} MB vs ${fmt(firstNaive, 1)} MB = ${fmt(first / firstNaive)}x`)
  const slope = results.idle?.['gateway-wamp']?.rssPerConnectionKB
  if (slope !== undefined) check('RSS per idle connection (slope) <= 4 KB', slope / 4, 1, `${fmt(slope, 1)} KB`)
  const slopeNaive = results.idle?.['naive-ws']?.rssPerConnectionKB
  if (slope !== undefined && slopeNaive !== undefined) check('RSS per idle connection <= naive ws', slope / slopeNaive, 1, `${fmt(slope, 1)} KB vs ${fmt(slopeNaive, 1)} KB = ${fmt(slope / slopeNaive)}x`)
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
    fastify: JSON.parse(readFileSync(join(root, 'node_modules/fastify/package.json'), 'utf8')).version,
    go: buildGo('centrifuge-server').version ?? null
  }
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, Linux ${machine.kernel}, Node ${machine.node}`)
  console.log(`settings: ${JSON.stringify(settings)}`)
  console.log('gateway: production mode (--env=prod), WAMP v1 subscribers as browsers (from 127.R.0-15.x, outside ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32, an anonymous Oro ticket each, Origin http://localhost); publishers from 127.0.0.1 (backend) or POST /publish')
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
          result = s.name === 'idle' ? await idleScenario(serverName) : s.name === 'rps' ? await rpsScenario(serverName) : s.name === 'multinode' ? await multinodeScenario(serverName) : await fanoutScenario(s.name, serverName)
        } catch (err) {
          if (err instanceof Skip) {
            result = { skipped: err.message }
            console.error(`  ${s.name} / ${serverName}: skipped: ${err.message}`)
          } else {
            result = { error: err.message.split('\n')[0] }
            console.error(err)
          }
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
