// Loaded into a server by bench/memory-start.mjs (node -r): on SIGPWR, two forced GCs, then
// process.memoryUsage() and V8's heap spaces (KB size, KB used) written to $PROBE_FILE.
const v8 = require('node:v8')
const { writeFileSync } = require('node:fs')
process.on('SIGPWR', () => {
  globalThis.gc(); globalThis.gc()
  writeFileSync(process.env.PROBE_FILE, JSON.stringify({ mem: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1024), Math.round(s.space_used_size / 1024)]) }))
})
