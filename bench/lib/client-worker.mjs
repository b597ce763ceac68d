// A load-generator worker: holds many `ws` client connections to one server and accounts for
// every event they receive. Driven by the runner over IPC ({ id, cmd, ... } → { id, ... }).
//
// Events carry {"s": seq, "t": send time in µs (CLOCK_MONOTONIC, the same clock in every
// process)}; seq -1 is a probe (used to learn that subscriptions are in effect). Each client
// keeps a bitmap of the sequence numbers it saw, so loss and duplication are exact whatever the
// order of arrival. Latency goes into a histogram of 10 µs buckets up to 2 s.
import { openClient } from './clients.mjs'
import { anonymousTicket } from './ticket.mjs'

const BUCKET_US = 10
const BUCKETS = 200000
const S_KEY = Buffer.from('{"s":')
const T_KEY = Buffer.from('"t":')

let clients = []
let expected = 0
let received = 0
let duplicates = 0
let hist = new Uint32Array(BUCKETS + 1)
let maxUs = 0
let probed = 0
let lastUs = 0

function nowUs () {
  return Number(process.hrtime.bigint() / 1000n)
}

function readInt (buf, at) {
  let neg = false
  if (buf[at] === 45) { neg = true; at++ }
  let n = 0
  for (let c = buf[at]; c >= 48 && c <= 57; c = buf[++at]) n = n * 10 + (c - 48)
  return neg ? -n : n
}

// A frame may carry several events (Centrifuge merges queued messages, one JSON per line).
function onFrame (client, buf) {
  for (let at = buf.indexOf(S_KEY); at !== -1; at = buf.indexOf(S_KEY, at + S_KEY.length)) onEvent(client, buf, at)
}

function onEvent (client, buf, at) {
  const seq = readInt(buf, at + S_KEY.length)
  if (seq < 0) {
    if (!client.probed) { client.probed = true; probed++ }
    return
  }
  const tAt = buf.indexOf(T_KEY, at)
  const now = nowUs()
  const latency = now - readInt(buf, tAt + T_KEY.length)
  const seen = client.seen
  if (seen === null || seq >= seen.length) return
  if (seen[seq]++ !== 0) { duplicates++; return }
  received++
  lastUs = now
  const bucket = latency < 0 ? 0 : Math.min(BUCKETS, Math.floor(latency / BUCKET_US))
  hist[bucket]++
  if (latency > maxUs) maxUs = latency
}

async function connect ({ kind, port, ticket, plan, concurrency }) {
  // plan: [{ topics, localAddress, ticket? }] (a client's own ticket, else the shared one), opened
  // with at most `concurrency` handshakes in flight.
  const started = Date.now()
  let next = 0
  let failed = 0
  let opened = 0
  async function lane () {
    while (next < plan.length) {
      const spec = plan[next++]
      const client = await openClient(kind, { port, ticket, ...spec }, onFrame)
      if (client === null) failed++
      else { clients.push(client); opened++ }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, lane))
  // Opened by this call (callers add them up), and held in all.
  return { connected: opened, held: clients.length, failed, ms: Date.now() - started }
}

function arm ({ events }) {
  expected = events
  received = 0
  duplicates = 0
  maxUs = 0
  lastUs = 0
  hist = new Uint32Array(BUCKETS + 1)
  for (const client of clients) client.seen = new Uint8Array(events)
  return {}
}

function report () {
  let lost = 0
  for (const client of clients) {
    const seen = client.seen
    if (seen === null) continue
    for (let i = 0; i < expected; i++) if (seen[i] === 0) lost++
  }
  const sparse = []
  for (let i = 0; i <= BUCKETS; i++) if (hist[i] !== 0) sparse.push(i, hist[i])
  return { received, duplicates, lost, hist: sparse, maxUs, lastUs }
}

const handlers = {
  connect,
  // Anonymous tickets for the runner, made here while this worker holds no session (5,000 SHA-512
  // rounds each, 2-20 ms of JS: on the runner's own loop they would take twice as long).
  tickets: ({ secret, count }) => ({ tickets: Array.from({ length: count }, () => anonymousTicket(secret)) }),
  arm,
  report,
  count: () => ({ received, duplicates }),
  probes: () => ({ probed, clients: clients.length }),
  resetProbes: () => { probed = 0; for (const c of clients) c.probed = false; return {} },
  closeAll: () => {
    for (const client of clients) client.ws.terminate()
    clients = []
    probed = 0
    return {}
  },
  exit: () => { setImmediate(() => process.exit(0)); return {} }
}

process.on('message', async (msg) => {
  const result = await handlers[msg.cmd](msg)
  process.send({ id: msg.id, ...result })
})
