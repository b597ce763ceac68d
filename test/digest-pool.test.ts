// The digest pool's workers lower their own priority (nice, per thread) so that a pool with a worker
// on every core yields to the event loop: checked from /proc, where the kernel shows each
// thread's nice value.
import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createDigestPool, defaultPoolSize, WORKER_NICE } from '../src/auth/digest-pool.js'
import { oroDigest, saltedInput } from '../src/auth/digest.js'

// Nice values of this process's threads (field 19 of /proc/self/task/TID/stat), by thread id.
function threadNice (): Map<number, number> {
  const nice = new Map<number, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    nice.set(Number(tid), Number(fields[16]))
  }
  return nice
}

test('default size: every core on Linux, where workers run at a lower priority', async (t) => {
  const cores = availableParallelism()
  t.equal(defaultPoolSize(), process.platform === 'linux' ? Math.min(8, cores) : Math.max(1, Math.min(4, cores - 1)))
})

test('workers lower their own priority, not the process\'s', { skip: process.platform !== 'linux' ? 'per-thread nice values are read from Linux /proc' : false }, async (t) => {
  const pool = createDigestPool({ size: 2, inlineWhenIdle: false })
  t.teardown(async () => { await pool.close() })
  const before = threadNice()
  const inputs = Array.from({ length: 4 }, (_, i) => saltedInput(`000000000000000${i}`, '2026-01-01T10:00:00+00:00', 'secret', 'secret'))
  const digests = await Promise.all(inputs.map(async (salted) => await pool.digest(salted)))
  t.same(digests, inputs.map(oroDigest), 'the workers compute the same digests')
  t.match(pool.stats, { size: 2, workers: 2, lowPriority: 2 })
  const after = threadNice()
  const added = [...after].filter(([tid]) => !before.has(tid))
  t.equal(added.filter(([, nice]) => nice === WORKER_NICE).length, 2, `two new threads at nice ${WORKER_NICE}`)
  t.equal(after.get(process.pid), before.get(process.pid), 'the main thread keeps its priority')
})

test('nice 0 keeps the workers at the process\'s priority', async (t) => {
  const pool = createDigestPool({ size: 1, nice: 0, inlineWhenIdle: false })
  t.teardown(async () => { await pool.close() })
  await pool.digest('x')
  t.match(pool.stats, { workers: 1, lowPriority: 0, inline: 0 })
})

test('occasional digests run inline; a burst starts a worker, which exits when idle', async (t) => {
  const pool = createDigestPool({ size: 2, idleMs: 200 })
  t.teardown(async () => { await pool.close() })
  t.equal(await pool.digest('a'), oroDigest('a'))
  t.match(pool.stats, { workers: 0, computed: 1, inline: 1 }, 'no worker for one ticket')
  // A burst of digests queued in one turn: inline ones until they took INLINE_MS_PER_SECOND of
  // the thread, then workers.
  const burst = Array.from({ length: 40 }, (_, i) => `burst ${i}`)
  const started = performance.now()
  t.same(await Promise.all(burst.map(async (x) => await pool.digest(x))), burst.map(oroDigest))
  const { inline, workers } = pool.stats
  t.ok(inline < 1 + burst.length, `not all inline (${inline} of ${1 + burst.length}, ${Math.round(performance.now() - started)} ms)`)
  t.ok(workers >= 1, 'the rest of the burst started workers')
  // Idle now: the workers exit after idleMs, and the pool works on afterwards.
  while (pool.stats.workers > 0) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(pool.stats.workers, 0, 'the idle workers exited')
  t.equal(await pool.digest('c'), oroDigest('c'))
  t.match(pool.stats, { computed: burst.length + 2 })
})
