#!/usr/bin/env node
// Instructions per POST /publish request in the server (callgrind), the gateway's builds against
// the bare Fastify route (bench/servers/bare-fastify.mjs), in one run. Instruction counts do not
// move with the machine's load as CPU time does (±3-10 % between runs: JIT and GC timing), so this
// is the comparison that holds on a shared machine. Instrumentation is switched on only while `amount`
// requests run, after a warm-up of `warmup` requests. Slow: valgrind runs the server ~50x slower.
//
//   npm run build && node bench/publish-instructions.mjs [--builds=dist,bench/.build/base/dist]
//     [--amount=12000] [--warmup=5000] [--connections=10] [--rounds=1] [--keep]
// --keep: the callgrind files stay in /tmp (named in the table) for callgrind_annotate.
import { readFileSync, rmSync } from 'node:fs'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, waitListening } from './lib/net.mjs'
import { PUBLISH_KEY, publishServer } from './lib/publish-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true] }))
const builds = String(args.builds ?? 'dist').split(',')
const amount = Number(args.amount ?? 12000)
// 5,000: the start-up's first mark-compact (~1 s after start) falls in the warm-up, not the count.
const warmup = Number(args.warmup ?? 5000)
const connections = Number(args.connections ?? 10)
const KEY = PUBLISH_KEY
const body = JSON.stringify({ topic: 'bench/nobody', data: { s: 1, t: 1234567890, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' } })

async function measure (build) {
  const port = await freePort()
  const out = `/tmp/bench-callgrind.${process.pid}.${port}.out`
  const { argv, env } = publishServer(root, build, port)
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...argv], { env, stdio: ['ignore', 'ignore', 'ignore'] })
  await waitListening(port, child, 120_000)
  const run = (n) => autocannon({
    url: `http://127.0.0.1:${port}/publish`, method: 'POST', connections, amount: n, body, timeout: 60,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }
  })
  await run(warmup)
  const load = loadavg()[0]
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' })
  const result = await run(amount)
  execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' })
  child.kill('SIGINT')
  await once(child, 'exit')
  const text = readFileSync(out, 'utf8')
  if (args.keep !== true) rmSync(out, { force: true })
  // callgrind may leave `summary: 0` with instrumentation switched on late; `totals:` has the count.
  const instructions = Math.max(...[...text.matchAll(/^(?:summary|totals):\s+(\d+)/gm)].map((m) => Number(m[1])))
  const requests = result.requests.total
  return { server: build, requests, non2xx: result.non2xx, 'instructions/request': Math.round(instructions / requests), load: +load.toFixed(1), ...(args.keep === true ? { file: out } : {}) }
}

const rows = []
for (let round = 0; round < Number(args.rounds ?? 1); round++) {
  for (const build of ['bare', ...builds]) rows.push(await measure(build))
}
const bare = rows.filter((r) => r.server === 'bare').map((r) => r['instructions/request'])
const bareMean = bare.reduce((a, b) => a + b, 0) / bare.length
for (const row of rows) row['bare/this'] = +(bareMean / row['instructions/request']).toFixed(3)
console.table(rows)

