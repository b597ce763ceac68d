// What one publish from Oro's PHP backend costs, over Oro's raw-TCP WampClient path or over the
// Oro bundle's HTTP client (integrations/oro-bundle): the PHP process (wall and CPU time, the first
// publish of a process and later ones) and the gateway (its CPU time per publish). One gateway
// (--env=prod, memory broker) with one WAMP subscriber; every publish is waited for at the
// subscriber before the gateway's CPU time is read. A measurement, never a test.
//
//   npm run build && node bench/oro-bundle.mjs [--processes 20] [--publishes 2000] [--out bench/results/oro-bundle.md]
import { execFile, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import WebSocket from 'ws'
import { anonymousTicket } from './lib/ticket.mjs'
import { cpuMs } from './lib/proc.mjs'

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '20' },
    publishes: { type: 'string', default: '2000' },
    out: { type: 'string', default: 'bench/results/oro-bundle.md' }
  }
})
const PROCESSES = Number(values.processes)
const PUBLISHES = Number(values.publishes)
const SECRET = 'bench-oro-bundle-secret'
const KEY = 'bench-oro-bundle-key'
const script = fileURLToPath(new URL('./oro-publish.php', import.meta.url))
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const run = promisify(execFile)

const port = await new Promise((resolvePort) => {
  const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolvePort(port)) })
})
const gateway = spawn(process.execPath, [cli, 'serve', '--env=prod'], {
  // PHP publishes from 127.0.0.1, the only backend; the subscriber is a browser from 127.0.0.2.
  env: { ...process.env, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`, ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: KEY, ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' },
  stdio: ['ignore', 'ignore', 'inherit']
})
process.on('exit', () => gateway.kill('SIGKILL'))
for (let i = 0; ; i++) {
  const ok = await new Promise((r) => request({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => { res.resume(); r(res.statusCode === 200) }).once('error', () => r(false)).end())
  if (ok) break
  if (i > 400) throw new Error('the gateway did not get ready')
  await new Promise((r) => setTimeout(r, 50))
}

// The subscriber: counts events per tag prefix.
const seen = new Map()
const waiters = []
const subscriber = new WebSocket(`ws://127.0.0.1:${port}/?ticket=${encodeURIComponent(anonymousTicket(SECRET))}`, ['wamp'], { headers: { Origin: 'http://localhost' }, localAddress: '127.0.0.2' })
await new Promise((resolveOpen, reject) => { subscriber.once('message', resolveOpen); subscriber.once('error', reject) })
subscriber.on('message', (data) => {
  const frame = JSON.parse(data.toString())
  if (frame[0] !== 8) return
  const prefix = String(frame[2][0].tagname).replace(/_\d+$/, '')
  seen.set(prefix, (seen.get(prefix) ?? 0) + 1)
  for (const w of waiters.splice(0)) w()
})
subscriber.send(JSON.stringify([5, 'oro/data/update']))
await new Promise((r) => setTimeout(r, 200))
const arrived = (prefix, count) => new Promise((resolveWait, reject) => {
  const timer = setTimeout(() => reject(new Error(`${prefix}: ${seen.get(prefix) ?? 0} of ${count} events arrived`)), 60_000)
  const check = () => { if ((seen.get(prefix) ?? 0) >= count) { clearTimeout(timer); resolveWait() } else waiters.push(check) }
  check()
})

async function php (mode, count, tag) {
  const { stdout } = await run('php', [script, mode, String(count)], { env: { ...process.env, BENCH_PORT: String(port), BENCH_SECRET: SECRET, BENCH_KEY: KEY, BENCH_TAG: tag } })
  return JSON.parse(stdout)
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const rows = []
for (const mode of ['wamp', 'http']) {
  // First publish of a process: PROCESSES processes, one publish each.
  let before = cpuMs(gateway.pid)
  const firsts = []
  for (let p = 0; p < PROCESSES; p++) {
    const tag = `${mode}_first${p}`
    firsts.push((await php(mode, 1, tag)).first)
    await arrived(tag, 1)
  }
  const gatewayFirst = (cpuMs(gateway.pid) - before) / PROCESSES
  // Steady state: one process, 1 + PUBLISHES publishes.
  before = cpuMs(gateway.pid)
  const steady = await php(mode, PUBLISHES + 1, `${mode}_steady`)
  await arrived(`${mode}_steady`, PUBLISHES + 1)
  const gatewaySteady = Math.max(0, cpuMs(gateway.pid) - before - gatewayFirst) / PUBLISHES
  rows.push({
    mode,
    firstWall: median(firsts.map((f) => f.wall)),
    firstCpu: median(firsts.map((f) => f.cpu)),
    gatewayFirst,
    steadyWall: steady.rest.wall / PUBLISHES,
    steadyCpu: steady.rest.cpu / PUBLISHES,
    gatewaySteady,
    rate: PUBLISHES / (steady.rest.wall / 1000)
  })
}
subscriber.terminate()
gateway.kill('SIGTERM')

const name = { wamp: 'Oro\'s WampClient (raw TCP, ticket, WAMP PUBLISH)', http: 'the Oro bundle (POST /publish, keep-alive)' }
const f = (x, d = 3) => x.toFixed(d)
const { stdout: phpVersion } = await run('php', ['-r', 'echo PHP_VERSION, " curl ", curl_version()["version"];'])
const lines = [
  `Oro's backend publishing one \`oro/data/update\` event (one tag) to a local gateway (--env=prod, memory broker, one subscriber); ${PROCESSES} processes for the first publish (medians), ${PUBLISHES} publishes in one process for the steady state. ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} cores (load average ${loadavg()[0].toFixed(1)} at the end, from other work on the machine), Node ${process.version}, PHP ${phpVersion}.`,
  '',
  '| path | first publish of a process: PHP wall / CPU ms | gateway CPU ms | later publishes: PHP wall / CPU ms each | gateway CPU ms each | publishes/s, one process |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${name[r.mode]} | ${f(r.firstWall, 2)} / ${f(r.firstCpu, 2)} | ${f(r.gatewayFirst, 2)} | ${f(r.steadyWall)} / ${f(r.steadyCpu)} | ${f(r.gatewaySteady)} | ${Math.round(r.rate)} |`),
  '',
  'PHP times are measured inside the PHP process (hrtime, getrusage) from before the first call to after it returned; they leave out PHP\'s own start. The gateway\'s CPU time is read from /proc (10 ms ticks) around each phase, after the subscriber got every event; the steady figure has the first publish\'s share taken out. The WAMP path\'s later publishes only write a frame and never learn whether it arrived; the HTTP path waits for the 202.'
]
console.log(lines.join('\n'))
if (values.out !== '') writeFileSync(values.out, `# Oro's backend: WAMP over TCP or the bundle's HTTP\n\nMade by \`node bench/oro-bundle.mjs\`.\n\n${lines.join('\n')}\n`)
process.exit(0)
