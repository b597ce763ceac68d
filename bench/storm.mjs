#!/usr/bin/env node
// The reconnect storm: N sessions (default 10,000) with distinct tickets, a mix of anonymous and
// database users (PostgreSQL, an oro_user table in a scratch database this script fills), connected
// to one gateway node; the node restarts (SIGTERM, then started again on the same port) and the
// sessions come back the way Oro's wamp.js brings them back (bench/lib/storm-worker.mjs). Reports
// the time until 99 % and 100 % are back, the slowest reconnect, how many passed 15 s, the event
// loop's delay in the gateway and a probe session's publish→receive time during the storm, and
// the server CPU per admitted ticket against a native SHA-512 loop doing the same digest.
//
// node bench/storm.mjs [--n=10000] [--workers=4] [--users=0.5] [--deadline=120] [--gateway=PATH]
//   [--start=restart|arrive]  restart: N sessions connected, then the node restarts (SIGTERM, a new
//                             process on the same port) and they come back; arrive: a crowd of N
//                             pages with no session and no cookie connects at once to a node that
//                             has been listening (migration day: the old server is gone), timed
//                             from the first attempt; nothing drains, nothing restarts
//   [--target=S]              seconds within which all must be back (default: restart 15; arrive
//                             10 up to 2,000 pages, else 30, the issue's targets; + retryDelay
//                             under --rule=released, whose first retry waits that long)
//   [--profile=spread|office] spread: --per-network pages per /24 (default 50) over many networks;
//                             office: every page behind one address (an office NAT or proxy)
//   [--rule=master|released]  wamp.js reconnect rule (lib/wamp-js-rule.mjs, oro-compat §6): master
//                             retries silently every 2 s for 15 s; released shows "connection lost"
//                             and waits --retry-delay x attempts after every drop or refusal
//   [--retry-delay=60000] (ms) [--cookies=1|0] (0: a cold storm, pages come back without cookies)
//   [--spares=1] (extra tickets per session) [--out=NAME]   (also: npm run bench -- storm ...).
//   ORO_WEBSOCKET_* variables set in the environment are passed to the gateway (A/B of a setting).
// Every page plays a browser: it connects through the gateway's trusted loopback proxy with
// X-Forwarded-For naming its browser address (198.18.0.0/15, outside the backend networks).
// Tickets are made before they are needed and off the client's event loops (lib/ticket-threads.mjs:
// the Go ticket maker when built, else worker threads at nice 10 in each client process), so the
// client keeps answering the gateway's pings while it makes 20,000 tickets: made on the event loop
// they silenced every session for a minute and the gateway dropped a third as dead peers. Because
// they are made minutes before a retry may use them, the gateway runs with
// ORO_WEBSOCKET_TICKET_LIFETIME=900 unless set (Oro's browsers fetch each ticket just before use;
// the lifetime changes no cost, only which old tickets still pass).
// Needs PostgreSQL at $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync, mkdirSync, readdirSync, existsSync } from 'node:fs'
import { cpus, release } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHash } from 'node:crypto'
import http from 'node:http'
import pg from 'pg'
import { ticket } from './lib/ticket.mjs'
import { openClient } from './lib/clients.mjs'
import { freePort, waitListening } from './lib/net.mjs'
import { cpuMs } from './lib/proc.mjs'
import { buildGo } from './lib/go-build.mjs'
import { spawnSync } from 'node:child_process'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=')
  return [k, v ?? true]
}))
const N = Number(args.n ?? 10000)
const WORKERS = Number(args.workers ?? 4)
const USER_SHARE = Number(args.users ?? 0.5)
const DEADLINE_S = Number(args.deadline ?? 120)
const PER_NETWORK = Number(args['per-network'] ?? 50)
const SPARES = Number(args.spares ?? 1)
const PROFILE = args.profile ?? 'spread'
const RULE = args.rule ?? 'master'
const RETRY_DELAY = Number(args['retry-delay'] ?? 60000)
const COOKIES = args.cookies !== '0'
const START = args.start ?? 'restart'
if (!['restart', 'arrive'].includes(START)) throw new Error(`--start is restart or arrive, not ${START}`)
const ARRIVE = START === 'arrive'
// Released Oro's first retry comes retryDelay after the drop, however soon the node is back.
const TARGET_S = Number(args.target ?? ((ARRIVE ? (N <= 2000 ? 10 : 30) : 15) + (RULE === 'released' ? RETRY_DELAY / 1000 : 0)))
if (!['spread', 'office'].includes(PROFILE)) throw new Error(`--profile is spread or office, not ${PROFILE}`)
if (!['master', 'released'].includes(RULE)) throw new Error(`--rule is master or released, not ${RULE}`)
const OFFICE_ADDRESS = '198.18.0.10'
const SECRET = 'bench-oro-secret'
const KEY = 'bench-publish-key-0123456789abcdef'
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const DB = 'oro_bench_storm'
const GATEWAY_CLI = typeof args.gateway === 'string' ? join(process.cwd(), args.gateway) : join(root, 'dist/cli.js')
const LAG_FILE = join(here, 'results', `tmp-storm-lag-${process.pid}.json`)
const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// --- the database ---------------------------------------------------------------------------------

async function prepareUsers (count) {
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB}`)
  await admin.end()
  const url = new URL(PG_URL)
  url.pathname = `/${DB}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  await client.query(`CREATE TABLE IF NOT EXISTS oro_user (id integer PRIMARY KEY, username varchar(255) NOT NULL UNIQUE,
    email varchar(255) NOT NULL, password varchar(255) NOT NULL, enabled boolean NOT NULL DEFAULT true)`)
  await client.query('TRUNCATE oro_user')
  const users = Array.from({ length: count }, (_, i) => ({ id: i + 1, username: `storm_user_${i + 1}`, password: `$2y$13$${createHash('sha256').update(String(i)).digest('base64').slice(0, 53)}` }))
  for (let i = 0; i < users.length; i += 500) {
    const chunk = users.slice(i, i + 500)
    const values = chunk.map((_, j) => `($${j * 4 + 1}, $${j * 4 + 2}, $${j * 4 + 3}, $${j * 4 + 4})`).join(',')
    await client.query(`INSERT INTO oro_user (id, username, email, password) VALUES ${values}`, chunk.flatMap((u) => [u.id, u.username, `${u.username}@example.com`, u.password]))
  }
  await client.end()
  return { users, url: url.toString() }
}

// --- the gateway -----------------------------------------------------------------------------------

function startGateway (port, dbUrl) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml'), ORO_DB_URL: dbUrl, BENCH_LAG_FILE: LAG_FILE, ORO_WEBSOCKET_TICKET_LIFETIME: '900' }
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('ORO_WEBSOCKET_') && k !== 'ORO_WEBSOCKET_TOPICS') env[k] = v
  const child = spawn(process.execPath, ['-r', join(here, 'lib', 'preload.cjs'), GATEWAY_CLI, 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)], { cwd: here, env, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderrText = ''
  child.stderr.on('data', (d) => { if (child.stderrText.length < 20000) child.stderrText += d })
  return child
}

/** CPU per thread of a process (ms), by thread name: the digest pool's workers apart from the main thread. */
function threadCpu (pid) {
  const out = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out[`${name}#${tid}`] = (Number(f[11]) + Number(f[12])) * 10
    } catch {}
  }
  return out
}

// --- load generator --------------------------------------------------------------------------------

let nextId = 1
function call (worker, msg) {
  const id = nextId++
  return new Promise((resolve) => {
    const onMessage = (reply) => { if (reply.id === id) { worker.off('message', onMessage); resolve(reply) } }
    worker.on('message', onMessage)
    worker.send({ ...msg, id })
  })
}

// --- the probe: a session that publishes to itself every 50 ms and times the round trip ----------

function startProbe (port) {
  const probe = { samples: [], connected: false, stopped: false, seq: 0, ws: null }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const probeTicket = ticket(SECRET)
  async function connectLoop () {
    while (!probe.stopped) {
      const client = await openClient('wamp', { port, ticket: probeTicket, topics: ['bench/probe'], localAddress: '127.0.0.1' }, (_c, buf) => {
        const at = buf.indexOf('"t":')
        if (at === -1) return
        const t = Number(/^\d+/.exec(buf.toString('latin1', at + 4, at + 30))?.[0])
        probe.samples.push([nowMs(), nowMs() - t / 1000])
      })
      if (client === null) { await sleep(100); continue }
      probe.connected = true
      probe.ws = client.ws
      await once(client.ws, 'close')
      probe.connected = false
    }
  }
  connectLoop()
  const timer = setInterval(() => {
    if (!probe.connected) return
    const body = `{"topic":"bench/probe","data":{"s":${probe.seq++},"t":${Math.round(nowMs() * 1000)}}}`
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/publish', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': Buffer.byteLength(body) } }, (res) => res.resume())
    req.on('error', () => {})
    req.end(body)
  }, 50)
  probe.stop = () => { probe.stopped = true; clearInterval(timer); probe.ws?.terminate(); agent.destroy() }
  return probe
}

// --- the floor ---------------------------------------------------------------------------------------

function floors () {
  const out = {}
  const go = buildGo('sha512-floor')
  if (go.path !== undefined) {
    const r = spawnSync(go.path, ['200'], { encoding: 'utf8' })
    try { out.goMsPerTicket = JSON.parse(r.stdout).msPerTicket } catch {}
  } else out.goSkipped = go.skip
  const t0 = nowMs()
  for (let i = 0; i < 40; i++) ticket(SECRET)
  out.nodeMsPerTicket = (nowMs() - t0) / 40
  const ossl = spawnSync('openssl', ['speed', '-seconds', '1', '-bytes', '128', 'sha512'], { encoding: 'utf8' })
  const kbs = /^sha512\s+([\d.]+)k/m.exec(ossl.stdout ?? '')?.[1]
  // 128 bytes is what one round hashes (64-byte digest + the ~64-byte salted text): 5,000 of them.
  if (kbs !== undefined) out.opensslMsPerTicket = 5000 * 128 / (Number(kbs) * 1000) * 1000
  return out
}

// --- main ----------------------------------------------------------------------------------------------

const quantile = (sorted, q) => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]

async function main () {
  console.log(`storm: ${N} sessions (${Math.round(USER_SHARE * 100)} % database users), profile ${PROFILE}${PROFILE === 'spread' ? ` (${PER_NETWORK} per /24)` : ` (all behind ${OFFICE_ADDRESS})`}, reconnect rule ${RULE}, ${COOKIES ? 'with' : 'without'} cookies, ${WORKERS} client processes, ${cpus().length} cores (${cpus()[0]?.model}), Linux ${release()}, Node ${process.version}`)
  const floor = floors()
  console.log(`digest floor: Go ${floor.goMsPerTicket ?? '-'} ms/ticket, OpenSSL ${floor.opensslMsPerTicket?.toFixed(2) ?? '-'} ms/ticket, Node createHash loop ${floor.nodeMsPerTicket.toFixed(2)} ms/ticket (one core each)`)
  const userCount = Math.max(1, Math.min(Math.round(N * USER_SHARE), 2000))
  const { users, url: dbUrl } = await prepareUsers(userCount)
  const port = await freePort()
  let gateway = startGateway(port, dbUrl)
  await waitListening(port, gateway).catch((err) => { throw new Error(`${err.message}\n${gateway.stderrText}`) })
  const workers = Array.from({ length: WORKERS }, () => fork(join(here, 'lib', 'storm-worker.mjs'), [], { stdio: 'inherit' }))
  const all = (msg) => Promise.all(workers.map((w) => call(w, msg)))
  const result = { date: new Date().toISOString(), loadavg: readFileSync('/proc/loadavg', 'utf8').trim(), n: N, start: START, profile: PROFILE, rule: RULE, cookies: COOKIES, perNetwork: PER_NETWORK, workers: WORKERS, userShare: USER_SHARE, users: userCount, cores: cpus().length, node: process.version, floor, env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ORO_WEBSOCKET_'))) }
  try {
    const plans = workers.map(() => [])
    for (let i = 0; i < N; i++) {
      const user = i % Math.round(1 / Math.max(USER_SHARE, 1e-9)) === 0 && USER_SHARE > 0 ? users[(i >> 1) % users.length] : null
      const topics = user === null ? ['oro/data/update'] : ['oro/data/update', `oro/reminder_remind/${user.id}`]
      // Browsers, as admission sees them in the field: an office's pages all behind one address, or
      // PER_NETWORK pages per /24 of 198.18.0.0/15 (benchmark addresses, no backend network).
      const net = Math.floor(i / PER_NETWORK)
      const browserAddress = PROFILE === 'office' ? OFFICE_ADDRESS : `198.${18 + ((net >> 8) & 1)}.${net & 255}.${2 + (i % PER_NETWORK) % 250}`
      plans[i % WORKERS].push({ id: i, user, topics, browserAddress })
    }
    let t = Date.now()
    await Promise.all(workers.map((w, k) => call(w, { cmd: 'prepare', plan: plans[k], oroSecret: SECRET, serverPort: port, reconnectRule: RULE, retryDelay: RETRY_DELAY, firstTickets: !ARRIVE })))
    if (!ARRIVE) {
      console.log(`  ${N} first tickets made in ${((Date.now() - t) / 1000).toFixed(1)} s`)
      t = Date.now()
      const cpuBefore = cpuMs(gateway.pid)
      const conn = await all({ cmd: 'connect', concurrency: 256 })
      const connected = conn.reduce((a, r) => a + r.connected, 0)
      result.initial = { connected, seconds: (Date.now() - t) / 1000, cpuMsPerSession: (cpuMs(gateway.pid) - cpuBefore) / Math.max(1, connected) }
      if (connected < N) console.log(`  (${N - connected} sessions were refused at first connection and are not part of the storm)`)
      console.log(`  first connection: ${connected} of ${N} in ${result.initial.seconds.toFixed(1)} s (${(connected / result.initial.seconds).toFixed(0)} sessions/s, 256 at once per client process), ${result.initial.cpuMsPerSession.toFixed(2)} ms server CPU per session`)
    }
    t = Date.now()
    await all({ cmd: 'prepareNext', spares: SPARES })
    console.log(`  ${N} x ${1 + SPARES} ${ARRIVE ? '' : 'reconnect '}tickets made in ${((Date.now() - t) / 1000).toFixed(1)} s (off the clients' event loops)`)
    await all({ cmd: 'arm', cookies: COOKIES && !ARRIVE })
    const probe = startProbe(port)
    await sleep(1000)

    let tTerm = null
    let tExit = null
    let tUp
    if (ARRIVE) {
      // The node has been listening since the start; the crowd's clock starts at its first attempt.
      tUp = nowMs()
      process.kill(gateway.pid, 'SIGWINCH') // the lag histogram starts now
    } else {
      // The restart.
      tTerm = nowMs()
      gateway.kill('SIGTERM')
      await once(gateway, 'exit')
      tExit = nowMs()
      gateway = startGateway(port, dbUrl)
      await waitListening(port, gateway, 30000, 10)
      tUp = nowMs()
      process.kill(gateway.pid, 'SIGWINCH') // the lag histogram starts now
    }
    const cpu0 = cpuMs(gateway.pid)
    const threads0 = threadCpu(gateway.pid)
    if (ARRIVE) await all({ cmd: 'arrive' })
    else console.log(`  SIGTERM → exit ${(tExit - tTerm).toFixed(0)} ms, → listening again ${(tUp - tTerm).toFixed(0)} ms`)

    let status
    let tAll = null
    let t99 = null
    const deadline = tUp + DEADLINE_S * 1000
    let lastPrint = 0
    while (nowMs() < deadline) {
      await sleep(100)
      const replies = await all({ cmd: 'status' })
      status = { back: replies.reduce((a, r) => a + r.back, 0), dropped: replies.reduce((a, r) => a + r.dropped, 0) }
      if (t99 === null && status.back >= 0.99 * N) t99 = nowMs()
      if (status.back >= N) { tAll = nowMs(); break }
      if (nowMs() - lastPrint > 2000) { lastPrint = nowMs(); console.log(`    +${((nowMs() - tUp) / 1000).toFixed(1)} s: ${status.back} back, ${status.dropped} dropped`) }
    }
    const tEnd = nowMs()
    result.loadavgEnd = readFileSync('/proc/loadavg', 'utf8').trim()
    const cpu1 = cpuMs(gateway.pid)
    const threads1 = threadCpu(gateway.pid)
    await sleep(300)
    const lag = existsSync(LAG_FILE) ? JSON.parse(readFileSync(LAG_FILE, 'utf8')) : null
    probe.stop()
    const reports = await all({ cmd: 'report' })
    const rows = reports.flatMap((r) => r.sessions)
    const outage = rows.filter((r) => r[1] !== null).map((r) => r[1] - r[0]).sort((a, b) => a - b)
    const backSinceUp = rows.filter((r) => r[1] !== null).map((r) => r[1] - tUp).sort((a, b) => a - b)
    const probeRtt = probe.samples.filter(([at]) => at >= tUp && at <= tEnd).map(([, ms]) => ms).sort((a, b) => a - b)
    const wall = (tEnd - tUp) / 1000
    const threadDelta = Object.fromEntries(Object.keys(threads1).map((k) => [k, (threads1[k] - (threads0[k] ?? 0))]).filter(([, ms]) => ms > 0))
    // Worker threads are not named apart in /proc: everything but the main thread (tid = pid) is
    // the digest pool, libuv's pool and V8's helpers, which are idle unless asked.
    const digestThreads = Object.entries(threadDelta).filter(([k]) => !k.endsWith(`#${gateway.pid}`))
    result.storm = {
      start: START,
      exitMs: ARRIVE ? null : tExit - tTerm,
      downMs: ARRIVE ? null : tUp - tTerm,
      back: outage.length,
      allBack: tAll !== null,
      t99SinceUpS: t99 === null ? null : (t99 - tUp) / 1000,
      t100SinceUpS: tAll === null ? null : (tAll - tUp) / 1000,
      slowestOutageS: outage.length === 0 ? null : outage[outage.length - 1] / 1000,
      outageP50S: quantile(outage, 0.5) / 1000,
      outageP99S: quantile(outage, 0.99) / 1000,
      over15s: rows.filter((r) => r[0] !== null && (r[1] === null || r[1] - r[0] > 15000)).length, // of the sessions that dropped
      shownLost: rows.filter((r) => r[6] > 0).length, // showed "connection lost" (wamp.js's rule)
      shownLostTimes: rows.reduce((a, r) => a + r[6], 0),
      attempts: rows.reduce((a, r) => a + r[2], 0),
      httpRejections: rows.reduce((a, r) => a + r[3], 0),
      refusals: reports.reduce((a, r) => { for (const [k, v] of Object.entries(r.refusals)) a[k] = (a[k] ?? 0) + v; return a }, {}),
      netFailures: reports.reduce((a, r) => { for (const [k, v] of Object.entries(r.netFailures)) a[k] = (a[k] ?? 0) + v; return a }, {}),
      sentCookie: rows.reduce((a, r) => a + r[4], 0),
      ticketsSentAgain: reports.reduce((a, r) => a + r.reusedTickets, 0),
      closedClean: reports.reduce((a, r) => a + r.closedClean, 0),
      backSinceUpP50S: quantile(backSinceUp, 0.5) / 1000,
      serverCpuS: (cpu1 - cpu0) / 1000,
      wallS: wall,
      coresBusy: (cpu1 - cpu0) / 1000 / wall,
      serverCpuMsPerTicket: (cpu1 - cpu0) / Math.max(1, outage.length),
      ticketsPerSecond: outage.length / wall,
      threadCpuMs: threadDelta,
      digestThreadsCoresBusy: digestThreads.reduce((a, [, ms]) => a + ms, 0) / 1000 / wall,
      lag,
      probe: { samples: probeRtt.length, p50Ms: quantile(probeRtt, 0.5), p99Ms: quantile(probeRtt, 0.99), maxMs: probeRtt.at(-1) ?? null }
    }
  } finally {
    await all({ cmd: 'closeAll' }).catch(() => {})
    await all({ cmd: 'exit' }).catch(() => {})
    gateway.kill('SIGKILL')
  }
  const s = result.storm
  const f = (x, d = 1) => x === null || x === undefined ? '-' : Number(x).toFixed(d)
  const lines = [
    `| storm: ${N} sessions, ${Math.round(USER_SHARE * 100)} % database users, ${PROFILE}, ${ARRIVE ? 'a crowd arriving at a listening node' : 'restart'}, rule ${RULE}, ${COOKIES && !ARRIVE ? 'with' : 'without'} cookies | |`, '|---|---|',
    `| load average at the start / at the end (shared machine: other work counts) | ${result.loadavg.split(' ').slice(0, 3).join(' ')} / ${result.loadavgEnd.split(' ').slice(0, 3).join(' ')} |`,
    ARRIVE ? '| SIGTERM → listening again | - (no restart: the node was listening) |' : `| SIGTERM → listening again | ${f(s.downMs / 1000)} s (exit ${f(s.exitMs / 1000)} s) |`,
    `| ${ARRIVE ? 'connected after the first attempt' : 'back after the node listened'}: 99 % / 100 % | ${f(s.t99SinceUpS)} s / ${s.allBack ? f(s.t100SinceUpS) + ' s' : `not all within ${DEADLINE_S} s (${s.back} of ${N})`} |`,
    `| outage per session (drop → back): p50 / p99 / slowest | ${f(s.outageP50S)} / ${f(s.outageP99S)} / ${f(s.slowestOutageS)} s |`,
    `| sessions whose outage passed 15 s | ${s.over15s} |`,
    `| sessions that showed "connection lost" (rule ${RULE}) / times shown | ${s.shownLost} / ${s.shownLostTimes} |`,
    `| attempts / refused by HTTP / sent a cookie back / ticket sent again (spares used up) | ${s.attempts} / ${s.httpRejections} / ${s.sentCookie} / ${s.ticketsSentAgain} |`,
    `| refusals by status during the storm | ${Object.entries(s.refusals).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'} |`,
    `| attempts failed without an HTTP answer during the storm, by cause | ${Object.entries(s.netFailures).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'} |`,
    `| gateway event-loop delay during the storm: p50 / p99 / max | ${f(s.lag?.p50Ms)} / ${f(s.lag?.p99Ms)} / ${f(s.lag?.maxMs)} ms |`,
    `| probe session publish → receive: p50 / p99 / max (${s.probe.samples} samples) | ${f(s.probe.p50Ms)} / ${f(s.probe.p99Ms)} / ${f(s.probe.maxMs)} ms |`,
    `| admitted per second; server CPU per admitted session | ${f(s.ticketsPerSecond, 0)}/s; ${f(s.serverCpuMsPerTicket, 2)} ms |`,
    `| cores busy in the gateway (all threads; threads other than the main one) | ${f(s.coresBusy, 2)}; ${f(s.digestThreadsCoresBusy, 2)} |`,
    `| digest floor per ticket: Go / OpenSSL / Node createHash loop (one core) | ${f(floor.goMsPerTicket, 2)} / ${f(floor.opensslMsPerTicket, 2)} / ${f(floor.nodeMsPerTicket, 2)} ms |`,
    ...(ARRIVE ? [] : [`| first connection of all ${N} (256 at once per client process) | ${f(result.initial.seconds)} s, ${f(result.initial.cpuMsPerSession, 2)} ms server CPU per session |`])
  ]
  const text = lines.join('\n')
  console.log('\n' + text)
  console.log(`  threads (CPU ms during the storm): ${JSON.stringify(s.threadCpuMs)}`)
  console.log('\nTargets:')
  const targets = [
    [`all ${N} ${ARRIVE ? 'connected' : 'back'} within ${TARGET_S} s of ${ARRIVE ? 'the first attempt' : 'the node listening'}`, s.allBack && s.t100SinceUpS <= TARGET_S],
    ['no refusal (429/503) during the storm', Object.keys(s.refusals).length === 0],
    ['probe round trip p99 <= 50 ms during the storm', s.probe.p99Ms !== null && s.probe.p99Ms <= 50]
  ]
  for (const [what, met] of targets) console.log(`  ${met ? 'MET ' : 'MISS'} ${what}`)
  mkdirSync(join(here, 'results'), { recursive: true })
  const base = args.out ?? `storm-${N}${PROFILE === 'office' ? '-office' : ''}${RULE === 'released' ? '-released' : ''}${ARRIVE ? '-arrive' : COOKIES ? '' : '-cold'}`
  writeFileSync(join(here, 'results', `${base}.json`), JSON.stringify({ ...result, targets }, null, 2) + '\n')
  writeFileSync(join(here, 'results', `${base}.md`), text + '\n\n' + targets.map(([w, m]) => `- ${m ? 'MET ' : 'MISS'} ${w}`).join('\n') + '\n')
  console.log(`wrote bench/results/${base}.json and .md`)
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
