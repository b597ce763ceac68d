// Computes ticket digests off the main thread. One digest is 5000 SHA-512 rounds (about 3.4 ms of
// CPU here), so a reconnect storm verified inline would stall every WebSocket for seconds.
// Size 0 gives the inline fallback with the same interface.
// Workers run at a lower scheduling priority (nice WORKER_NICE, see digest-worker.ts), so where
// that works (Linux) the pool has a worker on every core: during a storm every core computes
// digests and the event loop still gets a core the moment it has work.
// Workers cost memory (~10 MB each: a V8 isolate), so the pool starts none for an occasional
// ticket: with no worker running and nothing waiting, digests are computed on the calling thread
// (~3.4 ms each) while they took less than INLINE_MS_PER_SECOND of it (a token bucket of time,
// ~10 digests a second here, 4 % of the thread); past that the workers start, and a worker idle
// for WORKER_IDLE_MS exits.
// Digests wait on the main thread in two lanes and go to a worker only when it has room: the
// 'suspect' lane (clients that failed recently, see admission.ts) gets one dispatch in
// SUSPECT_TURN while the 'clean' lane has work, so failing clients cannot delay the others much.
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { oroDigest } from './digest.js'
import type { DigestReply, DigestRequest, PriorityReport } from './digest-worker.js'
import type { Lane } from './admission.js'
import { GW_ERR_SHUTTING_DOWN } from '../errors.js'
import { Fifo } from '../fifo.js'
import { TokenBucket } from '../token-bucket.js'

export interface DigestPoolStats {
  /** Configured number of worker threads (0 = inline). */
  size: number
  /** Worker threads running now (they start on first use). */
  workers: number
  /** Digests asked for and not answered yet (waiting or computing). */
  pending: number
  /** Of those, waiting in the suspect lane. */
  suspectWaiting: number
  /** Digests computed since creation. */
  computed: number
  /** Workers running at a lowered priority (nice WORKER_NICE). */
  lowPriority: number
  /** Of the digests computed, those computed on the calling thread (no worker was busy). */
  inline: number
}

export interface DigestPool {
  /** base64 digest of the salted input (see saltedInput in digest.ts); lane default 'clean'. */
  digest: (salted: string, lane?: Lane) => Promise<string>
  readonly stats: DigestPoolStats
  /** Stops the workers; pending digests reject with GW_ERR_SHUTTING_DOWN (503). Safe to call twice. */
  close: () => Promise<void>
}

export interface DigestPoolOptions {
  /** Worker threads; 0 computes on the calling thread. Default: defaultPoolSize(). */
  size?: number
  /** Nice value the workers give themselves (0 keeps the process's). Default WORKER_NICE. */
  nice?: number
  /** Occasional digests on the calling thread while no worker runs (see above). Default true. */
  inlineWhenIdle?: boolean
  /** ms a worker may stay without work before it exits. Default WORKER_IDLE_MS. */
  idleMs?: number
}

/** ms per second of the calling thread that inline digests may take while no worker runs. */
export const INLINE_MS_PER_SECOND = 40
/** A worker without work for this long exits (its memory goes back). */
export const WORKER_IDLE_MS = 30_000

/** Workers' nice value: a weight of 110 against the event loop's 1024 when they share a core. */
export const WORKER_NICE = 10

/**
 * On Linux, where workers lower their own priority, one worker per core (at most eight): the event
 * loop preempts them when it has work. Elsewhere one per core minus one for the event loop, at
 * least one, at most four.
 */
export function defaultPoolSize (): number {
  const cores = availableParallelism()
  return process.platform === 'linux' ? Math.max(1, Math.min(8, cores)) : Math.max(1, Math.min(4, cores - 1))
}

export function createDigestPool (options: DigestPoolOptions = {}): DigestPool {
  const size = options.size ?? defaultPoolSize()
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`digest pool size must be an integer >= 0, got ${size}`)
  return size === 0 ? new InlineDigester() : new WorkerDigestPool(size, options.nice ?? WORKER_NICE, options.inlineWhenIdle ?? true, options.idleMs ?? WORKER_IDLE_MS)
}

class InlineDigester implements DigestPool {
  #computed = 0
  get stats (): DigestPoolStats { return { size: 0, workers: 0, pending: 0, suspectWaiting: 0, computed: this.#computed, lowPriority: 0, inline: this.#computed } }
  async digest (salted: string): Promise<string> {
    this.#computed++
    return oroDigest(salted)
  }

  async close (): Promise<void> {}
}

interface Job { salted: string, resolve: (digest: string) => void, reject: (error: Error) => void }
interface Slot { worker: Worker, jobs: Map<number, Job>, nice: number | null, idle: NodeJS.Timeout | undefined }

// One dispatch in this many goes to the suspect lane while both lanes wait.
export const SUSPECT_TURN = 8
// Jobs handed to one worker at once: two, so a worker finds its next job queued when it ends one.
const WORKER_DEPTH = 2

// The compiled worker next to this file (dist/), else the TypeScript source: a worker inherits
// the parent's execArgv, so under tap's --import loader the .ts file loads too.
function workerUrl (): URL {
  const compiled = new URL('./digest-worker.js', import.meta.url)
  return existsSync(fileURLToPath(compiled)) ? compiled : new URL('./digest-worker.ts', import.meta.url)
}

class WorkerDigestPool implements DigestPool {
  readonly #size: number
  readonly #nice: number
  #slots: Slot[] = []
  #nextId = 0
  #computed = 0
  #closed = false
  readonly #clean = new Fifo<Job>()
  readonly #suspect = new Fifo<Job>()
  #dispatches = 0
  readonly #inlineWhenIdle: boolean
  #inline = 0
  // Inline digest time (ms) the calling thread may still spend: INLINE_MS_PER_SECOND a second.
  readonly #inlineTime = new TokenBucket(INLINE_MS_PER_SECOND, INLINE_MS_PER_SECOND / 1000, performance.now())

  readonly #idleMs: number

  constructor (size: number, nice: number, inlineWhenIdle: boolean, idleMs: number) {
    this.#idleMs = idleMs
    this.#size = size
    this.#nice = nice
    this.#inlineWhenIdle = inlineWhenIdle
  }

  get stats (): DigestPoolStats {
    let running = 0
    let lowPriority = 0
    for (const slot of this.#slots) {
      running += slot.jobs.size
      if (slot.nice !== null) lowPriority++
    }
    return { size: this.#size, workers: this.#slots.length, pending: running + this.#clean.length + this.#suspect.length, suspectWaiting: this.#suspect.length, computed: this.#computed, lowPriority, inline: this.#inline }
  }

  async digest (salted: string, lane: Lane = 'clean'): Promise<string> {
    // Closed only when the gateway stops: the client is told to retry (elsewhere), not a 500.
    if (this.#closed) throw new GW_ERR_SHUTTING_DOWN()
    if (this.#inlineWhenIdle && this.#slots.length === 0 && this.#clean.length + this.#suspect.length === 0 && this.#inlineBudget()) {
      const started = performance.now()
      const digest = oroDigest(salted)
      const ended = performance.now()
      this.#inlineTime.spend(ended - started, ended)
      this.#inline++
      this.#computed++
      return digest
    }
    return await new Promise<string>((resolve, reject) => {
      (lane === 'suspect' ? this.#suspect : this.#clean).push({ salted, resolve, reject })
      this.#dispatch()
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    const slots = this.#slots
    this.#slots = []
    const error = new GW_ERR_SHUTTING_DOWN()
    for (const job of [...this.#clean.takeAll(), ...this.#suspect.takeAll()]) job.reject(error)
    for (const slot of slots) {
      clearTimeout(slot.idle)
      this.#rejectAll(slot, error)
    }
    await Promise.all(slots.map(async (slot) => await slot.worker.terminate()))
  }

  // Hands waiting jobs to workers with room, clean lane first but for every SUSPECT_TURN-th.
  #dispatch (): void {
    while (this.#clean.length + this.#suspect.length > 0) {
      const slot = this.#pick()
      if (slot === undefined) return
      const takeSuspect = this.#suspect.length > 0 && (this.#clean.length === 0 || ++this.#dispatches % SUSPECT_TURN === 0)
      const job = (takeSuspect ? this.#suspect.shift() : this.#clean.shift()) as Job
      const id = ++this.#nextId
      slot.jobs.set(id, job)
      // Idle workers are unref'ed so a forgotten pool never keeps the process alive, but a
      // worker with work must: otherwise an awaiting caller could see the process exit.
      if (slot.jobs.size === 1) {
        slot.worker.ref()
        clearTimeout(slot.idle)
        slot.idle = undefined
      }
      const request: DigestRequest = { id, salted: job.salted }
      slot.worker.postMessage(request)
    }
  }

  // The least busy worker with room; a new one while some are missing and all running are busy.
  #pick (): Slot | undefined {
    let best: Slot | undefined
    for (const slot of this.#slots) if (best === undefined || slot.jobs.size < best.jobs.size) best = slot
    if (best !== undefined && (best.jobs.size === 0 || this.#slots.length >= this.#size)) {
      return best.jobs.size < WORKER_DEPTH ? best : undefined
    }
    return this.#spawn()
  }

  #spawn (): Slot {
    const worker = new Worker(workerUrl(), { workerData: { nice: this.#nice } })
    worker.unref()
    const slot: Slot = { worker, jobs: new Map(), nice: null, idle: undefined }
    worker.on('message', (reply: DigestReply | PriorityReport) => {
      if (!('id' in reply)) {
        slot.nice = reply.nice
        return
      }
      const job = slot.jobs.get(reply.id)
      if (job === undefined) return
      slot.jobs.delete(reply.id)
      this.#computed++
      if (slot.jobs.size === 0) {
        worker.unref()
        slot.idle = setTimeout(() => { this.#retire(slot) }, this.#idleMs).unref()
      }
      job.resolve(reply.digest)
      this.#dispatch()
    })
    // A crashed worker fails its own jobs only; the next digest starts a fresh one.
    worker.on('error', (error) => this.#drop(slot, error))
    worker.on('exit', (code) => this.#drop(slot, new Error(`digest worker exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }

  // Whether inline digests may take more of the calling thread (refills what a second allows).
  #inlineBudget (): boolean {
    return this.#inlineTime.level(performance.now()) > 0
  }

  // An idle worker exits; the next digest starts one again (or runs inline).
  #retire (slot: Slot): void {
    if (slot.jobs.size > 0 || !this.#slots.includes(slot)) return
    this.#slots = this.#slots.filter((other) => other !== slot)
    void slot.worker.terminate()
  }

  #drop (slot: Slot, error: Error): void {
    clearTimeout(slot.idle)
    if (!this.#slots.includes(slot)) return
    this.#slots = this.#slots.filter((other) => other !== slot)
    this.#rejectAll(slot, error)
    if (!this.#closed) this.#dispatch()
  }

  #rejectAll (slot: Slot, error: Error): void {
    const jobs = [...slot.jobs.values()]
    slot.jobs.clear()
    for (const job of jobs) job.reject(error)
  }
}
