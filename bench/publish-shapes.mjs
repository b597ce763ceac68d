#!/usr/bin/env node
// How long one POST /publish takes for the publisher shapes Oro has: one PHP process publishing
// back to back (one request at a time), and several at once. Each shape runs with one subscriber
// on the topic and with none, against each build given, in one run (same machine state).
//
//   npm run build && node bench/publish-shapes.mjs [--builds=dist,bench/.build/base] [--n=2000]
//     [--publishers=1,4] [--subscribers=1]
//
// Reports per build and shape: wall ms per request (mean and p50: the publisher's view; moves
// with the machine's load), the gateway's CPU µs per request (/proc: user + system, 10 ms ticks,
// so use n ≥ 2,000) and the load average at the start, so results from a shared machine can be
// read for what they are. The publishers are backends by their key; the subscribers browsers
// (from 127.0.0.2, outside ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32, a ticket each).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import http from 'node:http'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { anonymousTicket } from './lib/ticket.mjs'
import { openClient } from './lib/clients.mjs'
import { cpuMs } from './lib/proc.mjs'
import { freePort, waitListening } from './lib/net.mjs'
import { PUBLISH_KEY, cliOf } from './lib/publish-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true] }))
const builds = String(args.builds ?? 'dist').split(',')
const n = Number(args.n ?? 2000)
const publisherCounts = String(args.publishers ?? '1,4').split(',').map(Number)
const subscriberCount = Number(args.subscribers ?? 1)
const SECRET = 'bench-oro-secret'
const KEY = PUBLISH_KEY

async function startGateway (build) {
  const port = await freePort()
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
    ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml'),
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32'
  }
  const child = spawn(process.execPath, [cliOf(join(root, build)), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] })
  await waitListening(port, child)
  return { port, child }
}

function post (agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/publish', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 202) reject(new Error(`status ${res.statusCode}`))
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `publishers` loops, each publishing `n / publishers` events one at a time; returns per-request wall times in ms. */
async function publishLoop (port, topic, publishers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: publishers })
  const times = []
  const each = Math.ceil(n / publishers)
  await Promise.all(Array.from({ length: publishers }, async (_, p) => {
    for (let i = 0; i < each; i++) {
      const started = process.hrtime.bigint()
      await post(agent, port, `{"topic":${JSON.stringify(topic)},"data":{"s":${i},"p":${p}}}`)
      times.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  }))
  agent.destroy()
  return times
}

async function measure (build) {
  const { port, child } = await startGateway(build)
  let received = 0
  const clients = []
  for (let i = 0; i < subscriberCount; i++) {
    const client = await openClient('wamp', { port, ticket: anonymousTicket(SECRET), topics: ['bench/heard'], localAddress: '127.0.0.2' }, () => { received++ })
    if (client === null) throw new Error('a subscriber could not connect')
    clients.push(client)
  }
  // Subscriptions in effect: a probe publication reaches every subscriber.
  while (received < subscriberCount) {
    await post(new http.Agent(), port, '{"topic":"bench/heard","data":{"probe":true}}')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await publishLoop(port, 'bench/heard', 1) // warm-up (JIT), not counted
  const rows = []
  for (const publishers of publisherCounts) {
    for (const topic of ['bench/heard', 'bench/nobody']) {
      const load = loadavg()[0]
      received = 0
      const cpuBefore = cpuMs(child.pid)
      const started = process.hrtime.bigint()
      const times = await publishLoop(port, topic, publishers)
      const wall = Number(process.hrtime.bigint() - started) / 1e6
      const cpu = cpuMs(child.pid) - cpuBefore
      times.sort((a, b) => a - b)
      rows.push({
        build,
        publishers,
        subscribers: topic === 'bench/heard' ? subscriberCount : 0,
        'requests/s': Math.round(times.length / wall * 1000),
        'wall ms/request mean': +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(3),
        'wall ms p50': +times[times.length >> 1].toFixed(3),
        'gateway CPU µs/request': +(cpu * 1000 / times.length).toFixed(1),
        load: +load.toFixed(1)
      })
    }
  }
  for (const client of clients) client.ws.terminate()
  child.kill('SIGKILL')
  await once(child, 'exit')
  return rows
}

const rows = []
// Builds interleaved twice (A B A B) so a change in the machine's load shows as a spread.
for (let round = 0; round < Number(args.rounds ?? 2); round++) {
  for (const build of builds) rows.push(...await measure(build))
}
console.table(rows)

