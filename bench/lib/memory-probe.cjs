// Loaded into a server by bench/memory-start.mjs (node -r): on SIGPWR, two forced GCs, then
// process.memoryUsage(), V8's heap spaces (KB size, KB used) and the kernel's split of the RSS
// (RssAnon: the process's own memory; RssFile: mapped files, mostly the node binary's pages, the
// same for every Node.js server) written to $PROBE_FILE.
const v8 = require('node:v8')
const { readFileSync, writeFileSync } = require('node:fs')
process.on('SIGPWR', () => {
  globalThis.gc(); globalThis.gc()
  const status = readFileSync('/proc/self/status', 'utf8')
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  writeFileSync(process.env.PROBE_FILE, JSON.stringify({ anonKB: kb('RssAnon'), fileKB: kb('RssFile'), mem: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1024), Math.round(s.space_used_size / 1024)]) }))
})
