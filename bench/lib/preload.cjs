// Loaded into every measured server (node -r): SIGUSR2 runs a full GC, so memory is read after one,
// and leaves process.memoryUsage() in $BENCH_MEMORY_FILE when that is set (and a heap snapshot
// when $BENCH_HEAP_SNAPSHOT is set), for finding out where per-connection memory goes.
const { writeFileSync } = require('node:fs')
let snapshots = 0
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') globalThis.gc()
  if (process.env.BENCH_MEMORY_FILE) writeFileSync(process.env.BENCH_MEMORY_FILE, JSON.stringify(process.memoryUsage()))
  if (process.env.BENCH_HEAP_SNAPSHOT) require('node:v8').writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}.${++snapshots}.heapsnapshot`)
})
