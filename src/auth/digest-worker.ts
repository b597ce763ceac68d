// Worker thread entry of the digest pool: answers { id, salted } with { id, digest }. It first
// lowers its own scheduling priority (nice WORKER_NICE, this thread only), so a digest computing on
// a core yields that core whenever the event loop wants it: the pool can then use every core
// during a reconnect storm without delaying connected sessions. Its first message says whether
// that worked (Linux: the thread id from /proc/thread-self; elsewhere the thread keeps its priority).
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { oroDigest } from './digest.js'

export interface DigestRequest { id: number, salted: string }
export interface DigestReply { id: number, digest: string }
/** The worker's first message: its nice value, or null when it could not lower it. */
export interface PriorityReport { nice: number | null }

function lowerPriority (nice: number): number | null {
  if (process.platform !== 'linux' || nice === 0) return null
  try {
    // setpriority(PRIO_PROCESS, tid) on Linux changes that one thread, not the process.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isInteger(tid) || tid <= 0) return null
    setPriority(tid, nice)
    return nice
  } catch {
    return null
  }
}

const report: PriorityReport = { nice: lowerPriority(Number((workerData as { nice?: number } | undefined)?.nice ?? 0)) }
parentPort?.postMessage(report)
parentPort?.on('message', (request: DigestRequest) => {
  const reply: DigestReply = { id: request.id, digest: oroDigest(request.salted) }
  parentPort?.postMessage(reply)
})
