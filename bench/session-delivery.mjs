// Per-delivery cost of the fan-out down to the socket's write call, in process: hub -> session ->
// (connection ->) SocketWriter -> a socket stand-in that takes the bytes and does nothing. What
// the session's write path costs without the kernel's part. Compares two builds:
//   node bench/session-delivery.mjs [--build=bench/.build/before] (default: dist) [--sizes=100,5000]
//   [--payload=BYTES] (the event's data: a string of that many bytes; default {"a":1})
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const arg = process.argv.find((a) => a.startsWith('--build='))
const build = resolve(arg === undefined ? 'dist' : arg.slice('--build='.length))
const load = async (path) => await import(pathToFileURL(join(build, path)).href)
const { Hub } = await load('src/broker/hub.js')
const { WampSession } = await load('src/wamp/session.js')
const { WriteScheduler } = await load('src/wamp/socket-writer.js')
const withConnection = existsSync(join(build, 'src/wamp/connection.js'))
const Connection = withConnection ? (await load('src/wamp/connection.js')).Connection : null

const noop = () => {}
const log = { debug: noop, info: noop, notice: noop, warn: noop, error: noop }
const rows = []
const sizes = (process.argv.find((a) => a.startsWith('--sizes=')) ?? '--sizes=100,5000').slice(8).split(',').map(Number)
for (const subscribers of sizes) {
  const hub = new Hub({ writesPerTurn: Number.MAX_SAFE_INTEGER })
  const writes = new WriteScheduler()
  const ctx = { hub, broker: null, policy: { subscribe: () => null, publish: () => null }, limits: { maxTopicLength: 256, maxSubscriptions: 100, maxBufferedBytes: 1 << 30, maxPrefixes: 10, publishRate: 0, maxPendingPublishes: 10 }, log, writes, throttle: { take: () => 0 } }
  let bytes = 0
  for (let i = 0; i < subscribers; i++) {
    // ws's readyState (OPEN) and the socket calls the write path makes.
    const ws = { readyState: 1, terminate: noop, close: noop, pong: noop, pause: noop, resume: noop }
    const socket = { write (b) { bytes += b.length; return true }, cork: noop, uncork: noop, writableLength: 0, writableEnded: false }
    const identity = { anonymous: true, userId: 0, username: '' }
    const session = withConnection
      ? new WampSession(String(i), new Connection(ws, socket, writes), ctx, identity, false, '192.0.2.1')
      : new WampSession(String(i), ws, socket, ctx, identity, false, '192.0.2.1')
    hub.addClient(session)
    hub.subscribe('t', session)
  }
  const publications = Math.max(200, Math.round(1_000_000 / subscribers))
  const payloadArg = process.argv.find((a) => a.startsWith('--payload='))
  const publication = { topic: 't', payload: payloadArg === undefined ? '{"a":1}' : JSON.stringify('x'.repeat(Number(payloadArg.slice(10)))) }
  // The hub queues a broadcast and writes it in the next turns: timed until its queue is empty.
  const drained = async () => { do await new Promise((resolve) => setImmediate(resolve)); while (hub.queued > 0) }
  for (let i = 0; i < publications / 4; i++) hub.broadcast(publication) // warm up
  await drained()
  const samples = []
  for (let run = 0; run < 9; run++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < publications; i++) hub.broadcast(publication)
    await drained()
    samples.push(Number(process.hrtime.bigint() - started) / publications)
    await new Promise((resolve) => setImmediate(resolve))
  }
  samples.sort((a, b) => a - b)
  const median = samples[4]
  rows.push({ build: withConnection ? 'connection' : 'session writes', subscribers, 'ns/delivery (median of 9)': +(median / subscribers).toFixed(1), 'min': +(samples[0] / subscribers).toFixed(1), bytes })
}
console.table(rows)
