// Instructions per request by kind (JIT code, inline caches, GC, the JIT compiler, ...) from
// callgrind files of bench/publish-instructions.mjs --keep, side by side, and the functions whose
// cost differs most between the first file and each other one.
//   node bench/lib/callgrind-summary.mjs --requests=12000 BARE.out GATEWAY.out [MORE.out] [--top=25]
import { execFileSync } from 'node:child_process'

const args = process.argv.slice(2)
const files = args.filter((a) => !a.startsWith('--'))
const option = (name, fallback) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const requests = option('requests', 12000)
const top = option('top', 25)

const KINDS = [
  ['JIT compiler', /compiler::|turboshaft|maglev|Zone::|RegisterAllocator|InstructionSelector|LinearScanAllocator|Scheduler/],
  ['GC', /Marking|Sweeper|Scaveng|Heap::|GCTracer|MarkCompact|Evacuat|IterateObjectCache|RememberedSet|SlotSet|MemoryAllocator|MemoryChunk|ActiveSystemPages|ConcurrentMarking/],
  ['megamorphic inline caches', /Megamorphic/],
  ['other inline caches', /Builtins_(Keyed)?(Load|Store)IC/],
  ['JIT code (JS functions)', /\?\?\?:0x/],
  ['other V8 builtins', /Builtins_/],
  ['HTTP parser (llhttp)', /llhttp/],
  ['libc', /libc\.so/],
  ['JSON.parse', /JsonParser/]
]

function load (file) {
  const out = execFileSync('callgrind_annotate', ['--threshold=100', '--auto=no', file], { encoding: 'utf8', maxBuffer: 1 << 28 })
  const byFunction = new Map()
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line)
    if (m === null || m[2].startsWith('PROGRAM TOTALS')) continue
    const name = m[2].replace(/0x[0-9a-f]+/g, '0x…')
    byFunction.set(name, (byFunction.get(name) ?? 0) + Number(m[1].replace(/,/g, '')) / requests)
  }
  return byFunction
}

const profiles = files.map(load)
const kindOf = (name) => KINDS.find(([, re]) => re.test(name))?.[0] ?? 'other C++ (V8 runtime, Node.js, libuv)'
const rows = {}
for (const [i, profile] of profiles.entries()) {
  for (const [name, n] of profile) {
    const kind = kindOf(name)
    rows[kind] ??= files.map(() => 0)
    rows[kind][i] += n
  }
}
rows.total = files.map((_, i) => [...profiles[i].values()].reduce((a, b) => a + b, 0))
console.log(['kind', ...files].join(' | '))
for (const [kind, values] of Object.entries(rows).sort((a, b) => b[1][1] - a[1][1])) console.log([kind, ...values.map((v) => Math.round(v))].join(' | '))
for (let i = 1; i < profiles.length; i++) {
  console.log(`\nlargest differences, ${files[i]} minus ${files[0]} (instructions per request):`)
  const names = new Set([...profiles[0].keys(), ...profiles[i].keys()])
  const diff = [...names].map((name) => [name, (profiles[i].get(name) ?? 0) - (profiles[0].get(name) ?? 0)]).sort((a, b) => b[1] - a[1])
  for (const [name, d] of diff.slice(0, top)) console.log(`${Math.round(d).toString().padStart(7)}  ${name.slice(0, 130)}`)
}
