// Per-publication and per-delivery CPU cost of the hub's fan-out, in process (no sockets): queueing,
// merging, framing and the writes (to clients that keep nothing), up to the end of the turns that
// write them. Two shapes: every publication to one topic (merged: up to 64 frames per write) and
// publications alternating between two topics (nothing to merge: one write per publication).
// Run: npm run build && node bench/hub-delivery.mjs [--hub=path/to/dist/src/broker/hub.js]
// (--hub: another build, e.g. a copy of dist/ from before a change; `merge: true` is passed for
// builds that still had the option).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const hubArg = process.argv.find((a) => a.startsWith('--hub='))
const { Hub } = await import(hubArg === undefined ? '../dist/src/broker/hub.js' : pathToFileURL(join(process.cwd(), hubArg.slice('--hub='.length))).href)
const turn = () => new Promise((resolve) => setImmediate(resolve))
/** Publications handed over between two turns (as a Redis read or many requests would). */
const CHUNK = 5000

const rows = []
for (const shape of ['one topic', 'two topics']) {
  for (const subscribers of [1, 100, 5000]) {
    const hub = new Hub({ merge: true, writesPerTurn: Number.MAX_SAFE_INTEGER, maxQueuedBytes: Number.MAX_SAFE_INTEGER })
    for (let i = 0; i < subscribers; i++) {
      const client = { id: String(i), write () { return true } }
      hub.addClient(client)
      hub.subscribe('t', client)
      hub.subscribe('u', client)
    }
    const publications = Math.max(2000, Math.round(1_000_000 / subscribers))
    const topics = shape === 'one topic' ? ['t', 't'] : ['t', 'u']
    const each = topics.map((topic) => ({ topic, payload: '{"a":1}' }))
    const run = async (n) => {
      for (let done = 0; done < n; done += CHUNK) {
        for (let i = done; i < Math.min(n, done + CHUNK); i++) hub.broadcast(each[i & 1])
        await turn()
      }
    }
    await run(publications / 4) // warm up
    // CPU time (user + system) of this process: on a shared machine wall time also counts waiting for a core.
    const samples = []
    for (let r = 0; r < 7; r++) {
      const started = process.cpuUsage()
      await run(publications)
      const used = process.cpuUsage(started)
      samples.push((used.user + used.system) * 1000 / publications)
    }
    samples.sort((a, b) => a - b)
    const median = samples[3]
    rows.push({ shape, subscribers, publications, 'CPU ns/publication (median of 7)': Math.round(median), 'ns/delivery': +(median / subscribers).toFixed(1) })
  }
}
console.table(rows)
