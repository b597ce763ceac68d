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

// With $BENCH_LAG_FILE set: the event loop's delay (perf_hooks, 10 ms resolution), written there as
// { p50Ms, p99Ms, maxMs, count, cpuMs } every 250 ms; SIGWINCH starts the histogram afresh (the storm
// sends it once the restarted node listens, so its boot is not counted).
if (process.env.BENCH_LAG_FILE) {
  const { monitorEventLoopDelay } = require('node:perf_hooks')
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  process.on('SIGWINCH', () => histogram.reset())
  setInterval(() => {
    const usage = process.cpuUsage()
    writeFileSync(process.env.BENCH_LAG_FILE, JSON.stringify({
      p50Ms: histogram.percentile(50) / 1e6, p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, count: histogram.count, cpuMs: (usage.user + usage.system) / 1000
    }))
  }, 250).unref()
}
