#!/usr/bin/env node
// Server CPU per POST /publish request (a topic nobody listens to), the gateway's builds against a
// bare Fastify route that parses the body and answers 202 (bench/servers/bare-fastify.mjs), in one
// run. CPU time is read from /proc (user + system of the server process), so the figure holds on a
// loaded machine where requests/s (autocannon shares the cores) does not.
//
//   npm run build && node bench/publish-cpu.mjs [--builds=dist,bench/.build/base/dist] [--amount=40000]
//     [--connections=10] [--rounds=2] [--prof]   (--prof: a .cpuprofile per gateway run in bench/results/profiles)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { cpuSplitMs } from './lib/proc.mjs'
import { freePort, waitListening } from './lib/net.mjs'
import { PUBLISH_KEY, publishServer } from './lib/publish-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true] }))
const builds = String(args.builds ?? 'dist').split(',')
const amount = Number(args.amount ?? 40000)
const connections = Number(args.connections ?? 10)
const KEY = PUBLISH_KEY
const body = JSON.stringify({ topic: 'bench/nobody', data: { s: 1, t: 1234567890, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' } })

async function start (build) {
  const port = await freePort()
  const nodeArgs = args.prof === true ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []
  const { argv, env } = publishServer(root, build, port, { nodeArgs })
  const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] })
  await waitListening(port, child)
  return { port, child }
}

async function measure (build) {
  const { port, child } = await start(build)
  const run = (n) => autocannon({
    url: `http://127.0.0.1:${port}/publish`, method: 'POST', connections, amount: n, body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }
  })
  await run(Math.round(amount / 4)) // warm-up (JIT), not counted
  const load = loadavg()[0]
  const before = cpuSplitMs(child.pid)
  const result = await run(amount)
  const after = cpuSplitMs(child.pid)
  child.kill('SIGINT')
  await once(child, 'exit')
  const requests = result.requests.total
  return {
    server: build,
    requests,
    non2xx: result.non2xx,
    'requests/s': Math.round(result.requests.average),
    'CPU µs/request': +(((after.user - before.user) + (after.system - before.system)) * 1000 / requests).toFixed(1),
    'user / sys µs': `${((after.user - before.user) * 1000 / requests).toFixed(1)} / ${((after.system - before.system) * 1000 / requests).toFixed(1)}`,
    load: +load.toFixed(1)
  }
}

const rows = []
for (let round = 0; round < Number(args.rounds ?? 2); round++) {
  for (const build of ['bare', ...builds]) rows.push(await measure(build))
}
console.table(rows)

