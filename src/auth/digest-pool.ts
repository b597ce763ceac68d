// Computes ticket digests off the main thread. One digest is 5000 SHA-512 rounds (about 5 ms of
// CPU here), so a reconnect storm verified inline would stall every WebSocket for seconds.
// Size 0 gives the inline fallback with the same interface.
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { oroDigest } from './digest.js'
import type { DigestReply, DigestRequest } from './digest-worker.js'

export interface DigestPoolStats {
  /** Configured number of worker threads (0 = inline). */
  size: number
  /** Worker threads running now (they start on first use). */
  workers: number
  /** Digests asked for and not answered yet. */
  pending: number
  /** Digests computed since creation. */
  computed: number
}

export interface DigestPool {
  /** base64 digest of the salted input (see saltedInput in digest.ts). */
  digest: (salted: string) => Promise<string>
  readonly stats: DigestPoolStats
  /** Stops the workers; pending digests reject. Safe to call twice. */
  close: () => Promise<void>
}

export interface DigestPoolOptions {
  /** Worker threads; 0 computes on the calling thread. Default: defaultPoolSize(). */
  size?: number
}

/**
 * One worker per core minus one for the event loop, at least one, at most four: on a 2-core
 * machine a second worker won little throughput and doubled the event loop's delay in a storm.
 */
export function defaultPoolSize (): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

export function createDigestPool (options: DigestPoolOptions = {}): DigestPool {
  const size = options.size ?? defaultPoolSize()
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`digest pool size must be an integer >= 0, got ${size}`)
  return size === 0 ? new InlineDigester() : new WorkerDigestPool(size)
}

class InlineDigester implements DigestPool {
  #computed = 0
  get stats (): DigestPoolStats { return { size: 0, workers: 0, pending: 0, computed: this.#computed } }
  async digest (salted: string): Promise<string> {
    this.#computed++
    return oroDigest(salted)
  }

  async close (): Promise<void> {}
}

interface Job { resolve: (digest: string) => void, reject: (error: Error) => void }
interface Slot { worker: Worker, jobs: Map<number, Job> }

// The compiled worker next to this file (dist/), else the TypeScript source: a worker inherits
// the parent's execArgv, so under tap's --import loader the .ts file loads too.
function workerUrl (): URL {
  const compiled = new URL('./digest-worker.js', import.meta.url)
  return existsSync(fileURLToPath(compiled)) ? compiled : new URL('./digest-worker.ts', import.meta.url)
}

class WorkerDigestPool implements DigestPool {
  readonly #size: number
  #slots: Slot[] = []
  #nextId = 0
  #computed = 0
  #closed = false

  constructor (size: number) {
    this.#size = size
  }

  get stats (): DigestPoolStats {
    let pending = 0
    for (const slot of this.#slots) pending += slot.jobs.size
    return { size: this.#size, workers: this.#slots.length, pending, computed: this.#computed }
  }

  async digest (salted: string): Promise<string> {
    if (this.#closed) throw new Error('the digest pool is closed')
    const slot = this.#pick()
    const id = ++this.#nextId
    return await new Promise<string>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject })
      // Idle workers are unref'ed so a forgotten pool never keeps the process alive, but a
      // worker with work must: otherwise an awaiting caller could see the process exit.
      if (slot.jobs.size === 1) slot.worker.ref()
      const request: DigestRequest = { id, salted }
      slot.worker.postMessage(request)
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    const slots = this.#slots
    this.#slots = []
    for (const slot of slots) this.#rejectAll(slot, new Error('the digest pool is closed'))
    await Promise.all(slots.map(async (slot) => await slot.worker.terminate()))
  }

  // The least busy worker; a new one while some are missing and all running ones are busy.
  #pick (): Slot {
    let best: Slot | undefined
    for (const slot of this.#slots) if (best === undefined || slot.jobs.size < best.jobs.size) best = slot
    if (best !== undefined && (best.jobs.size === 0 || this.#slots.length >= this.#size)) return best
    return this.#spawn()
  }

  #spawn (): Slot {
    const worker = new Worker(workerUrl())
    worker.unref()
    const slot: Slot = { worker, jobs: new Map() }
    worker.on('message', (reply: DigestReply) => {
      const job = slot.jobs.get(reply.id)
      if (job === undefined) return
      slot.jobs.delete(reply.id)
      this.#computed++
      if (slot.jobs.size === 0) worker.unref()
      job.resolve(reply.digest)
    })
    // A crashed worker fails its own jobs only; the next digest starts a fresh one.
    worker.on('error', (error) => this.#drop(slot, error))
    worker.on('exit', (code) => this.#drop(slot, new Error(`digest worker exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }

  #drop (slot: Slot, error: Error): void {
    this.#slots = this.#slots.filter((other) => other !== slot)
    this.#rejectAll(slot, error)
  }

  #rejectAll (slot: Slot, error: Error): void {
    const jobs = [...slot.jobs.values()]
    slot.jobs.clear()
    for (const job of jobs) job.reject(error)
  }
}
