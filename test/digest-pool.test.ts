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
  const pool = createDigestPool({ size: 2 })
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
  const pool = createDigestPool({ size: 1, nice: 0 })
  t.teardown(async () => { await pool.close() })
  await pool.digest('x')
  t.match(pool.stats, { workers: 1, lowPriority: 0 })
})
