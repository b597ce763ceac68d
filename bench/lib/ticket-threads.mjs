// Many Oro tickets without blocking the caller's event loop: a load generator that holds thousands
// of sessions must answer the gateway's pings while it makes the next batch of tickets (13-30 ms
// of JS each on a busy machine: 20,000 of them on the event loop silenced every session for a
// minute, and the gateway dropped a third of them as dead peers). The Go ticket maker when it is
// built (about 6x faster, a child process read asynchronously), else worker threads at a lower
// priority (nice 10, that thread only), so the sessions' event loop goes first (nice 19 starved
// them for minutes on a machine shared with other work).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { spawn } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { setPriority, cpus } from 'node:os'
import { ticket } from './ticket.mjs'
import { buildGo } from './go-build.mjs'

/** list: [{ user: null | { username, password } }]; resolves with one fresh ticket per entry, in order. */
export async function makeTickets (secret, list, { threads = Math.max(1, Math.min(2, cpus().length)) } = {}) {
  if (list.length === 0) return []
  const go = buildGo('sha512-floor')
  if (go.path !== undefined) {
    const lines = await goTickets(go.path, secret, list).catch(() => null)
    if (lines !== null && lines.length === list.length) return lines
  }
  const size = Math.ceil(list.length / threads)
  const parts = await Promise.all(Array.from({ length: Math.ceil(list.length / size) }, (_, k) => threadTickets(secret, list.slice(k * size, (k + 1) * size))))
  return parts.flat()
}

function goTickets (path, secret, list) {
  return new Promise((resolve, reject) => {
    const child = spawn(path, ['tickets', secret], { stdio: ['pipe', 'pipe', 'ignore'] })
    const chunks = []
    child.stdout.on('data', (c) => chunks.push(c))
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(Buffer.concat(chunks).toString().trim().split('\n')) : reject(new Error(`exit ${code}`)))
    child.stdin.end(list.map((s) => s.user === null ? '\t' : `${s.user.username}\t${s.user.password}`).join('\n') + '\n')
  })
}

function threadTickets (secret, list) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { secret, users: list.map((s) => s.user) } })
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`ticket thread exited ${code}`)) })
  })
}

if (!isMainThread && workerData?.users !== undefined) {
  try {
    // setpriority(PRIO_PROCESS, tid) on Linux lowers this thread only.
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10)
  } catch {}
  const { secret, users } = workerData
  parentPort.postMessage(users.map((user) => user === null ? ticket(secret) : ticket(secret, { username: user.username, password: user.password })))
}
