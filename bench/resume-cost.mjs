#!/usr/bin/env node
// Server CPU per reconnect of one browser page, the way Oro's wamp.js reconnects (a fresh ticket
// each time), with the resume cookie the gateway set sent back, and without it (a full digest at
// admission). Main thread and whole process (the digest workers included), from /proc.
//
//   npm run build && node bench/resume-cost.mjs [--n=200] [--prof]   (--prof: a .cpuprofile in bench/results/profiles)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { anonymousTicket } from './lib/ticket.mjs'
import { freePort, waitListening } from './lib/net.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true] }))
const N = Number(args.n ?? 200)
const SECRET = 'bench-oro-secret'

/** utime + stime in ms of the process (all threads) and of its main thread. */
function cpu (pid) {
  const read = (path) => { const f = readFileSync(path, 'utf8'); const x = f.slice(f.lastIndexOf(')') + 2).split(' '); return (Number(x[11]) + Number(x[12])) * 10 }
  return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) }
}

const port = await freePort()
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ORO_SECRET: SECRET,
  ORO_WEBSOCKET_TOPICS: join(here, 'topics.yml'),
  ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
  ORO_WEBSOCKET_FRONTEND_DSN: '//*:8080/ws'
}
const gateway = spawn(process.execPath, [...(args.prof === true ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []),
  join(root, 'dist/cli.js'), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] })
await waitListening(port, gateway)

console.error(`making ${2 * N + 1} tickets...`)
const tickets = Array.from({ length: 2 * N + 1 }, () => anonymousTicket(SECRET))
let cookie = ''

/** One page: connect, WELCOME, subscribe, the subscription's first event not awaited; then closed. */
function page (ticket, withCookie) {
  return new Promise((resolve, reject) => {
    const headers = { Origin: 'http://localhost' }
    if (withCookie && cookie !== '') headers.Cookie = cookie
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?ticket=${encodeURIComponent(ticket)}`, ['wamp'], { perMessageDeflate: false, headers, localAddress: '127.0.0.2' })
    ws.on('upgrade', (res) => {
      const set = res.headers['set-cookie']
      if (set !== undefined) cookie = (Array.isArray(set) ? set : [set]).map((line) => line.split(';')[0]).join('; ')
    })
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
    ws.on('error', reject)
    ws.on('message', (buf) => {
      if (buf[1] === 48) { // [0, ...] WELCOME
        ws.send(JSON.stringify([5, 'bench/resume']))
        ws.close()
      }
    })
    ws.on('close', resolve)
  })
}

await page(tickets[0], false) // the first visit sets the cookie
if (cookie === '') throw new Error('no resume cookie was set')
const rows = []
for (const [label, withCookie, from] of [['fresh ticket + resume cookie', true, 1], ['fresh ticket, no cookie (full digest)', false, 1 + N]]) {
  await new Promise((resolve) => setTimeout(resolve, 2000)) // deferred digests of the last round finish
  const before = cpu(gateway.pid)
  const started = performance.now()
  for (let i = 0; i < N; i++) await page(tickets[from + i], withCookie)
  const wall = performance.now() - started
  // The digests a resumed session still owes (checked in the background): wait until CPU settles.
  let settled = cpu(gateway.pid)
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const now = cpu(gateway.pid)
    if (now.all === settled.all) break
    settled = now
  }
  rows.push({
    reconnect: label,
    n: N,
    'main thread CPU ms each': +((settled.main - before.main) / N).toFixed(2),
    'process CPU ms each (digests included)': +((settled.all - before.all) / N).toFixed(2),
    'wall ms each': +(wall / N).toFixed(1),
    load: +loadavg()[0].toFixed(1)
  })
}
console.table(rows)
gateway.kill('SIGINT')
await once(gateway, 'exit')
