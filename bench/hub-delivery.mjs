// Per-delivery and per-publication cost of the hub's fan-out, in process (no sockets): what the
// metrics on the delivery path cost. Run: npm run build && node bench/hub-delivery.mjs
import { Hub } from '../dist/src/broker/hub.js'

const rows = []
for (const subscribers of [1, 100, 5000]) {
  const hub = new Hub({ writesPerTurn: Number.MAX_SAFE_INTEGER })
  for (let i = 0; i < subscribers; i++) {
    const client = { id: String(i), write () { return true } }
    hub.addClient(client)
    hub.subscribe('t', client)
  }
  const publications = Math.max(2000, Math.round(2_000_000 / subscribers))
  const publication = { topic: 't', payload: '{"a":1}' }
  for (let i = 0; i < publications / 4; i++) hub.broadcast(publication) // warm up
  const samples = []
  for (let run = 0; run < 7; run++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < publications; i++) hub.broadcast(publication)
    samples.push(Number(process.hrtime.bigint() - started) / publications)
    await new Promise((resolve) => setImmediate(resolve))
  }
  samples.sort((a, b) => a - b)
  const median = samples[3]
  rows.push({ subscribers, publications, 'ns/publication (median of 7)': Math.round(median), 'ns/delivery': +(median / subscribers).toFixed(1) })
}
console.table(rows)
