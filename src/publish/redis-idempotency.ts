// Idempotency-Key across nodes: the answers live in Redis, so a repeat sent to any node gets the
// first answer. The first request claims the key with SET NX (a short-lived "pending" marker),
// delivers, then stores its 2xx answer for the window; a failed one deletes the marker so the
// request may be retried. A duplicate that finds the marker waits for the answer (on the same
// node without asking Redis again). Redis unreachable: 503, like the broker itself. The marker and
// the answer carry the body's fingerprint: the same key with another body is refused (422).
import { IDEMPOTENCY_WINDOW_MS, showKey, type IdempotencyStore, type StoredAnswer } from './idempotency.js'
import { GW_ERR_BROKER_UNAVAILABLE, GW_ERR_IDEMPOTENCY_KEY_REUSED, GW_ERR_PUBLISH_OUTCOME_UNKNOWN } from '../errors.js'

/** The few commands the store needs (ioredis' Redis and Cluster both have them). */
export interface IdempotencyRedis {
  set (key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>
  set (key: string, value: string, px: 'PX', ms: number): Promise<'OK' | null>
  get (key: string): Promise<string | null>
  del (key: string): Promise<number>
}

export interface RedisIdempotencyOptions {
  /** Key prefix (ORO_WEBSOCKET_REDIS_PREFIX); keys are PREFIX idem:HOLDER:KEY. */
  prefix: string
  windowMs?: number
  /** How long a claim lasts without an answer (a node that died while handling it). */
  pendingMs?: number
  /** How often a duplicate on another node looks for the first one's answer. */
  pollMs?: number
}

const PENDING = 'pending:'

/** What is stored once a request was answered. */
interface Stored { f: string, a: StoredAnswer }

export function createRedisIdempotencyStore (redis: IdempotencyRedis, options: RedisIdempotencyOptions): IdempotencyStore {
  const windowMs = options.windowMs ?? IDEMPOTENCY_WINDOW_MS
  const pendingMs = options.pendingMs ?? 30_000
  const pollMs = options.pollMs ?? 20
  const local = new Map<string, { fingerprint: string, result: Promise<{ answer: StoredAnswer, replay: boolean }> }>()

  const unavailable = (err: unknown): Error => new GW_ERR_BROKER_UNAVAILABLE(`redis: ${(err as Error).message}`)

  async function attempt (id: string, key: string, fingerprint: string, handle: () => Promise<StoredAnswer>): Promise<{ answer: StoredAnswer, replay: boolean }> {
    const deadline = Date.now() + pendingMs
    for (;;) {
      let claimed: 'OK' | null
      try {
        claimed = await redis.set(id, PENDING + fingerprint, 'PX', pendingMs, 'NX')
      } catch (err) {
        throw unavailable(err)
      }
      if (claimed === 'OK') return { answer: await handleClaimed(id, fingerprint, handle), replay: false }
      // Someone else has it: its answer, or wait for it (or for its failure, then try again).
      let stored: string | null
      try {
        stored = await redis.get(id)
      } catch (err) {
        throw unavailable(err)
      }
      if (stored === null) continue // the first one failed and let go: claim it again
      const pending = stored.startsWith(PENDING)
      const found = pending ? { f: stored.slice(PENDING.length), a: null } : JSON.parse(stored) as Stored
      if (found.f !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
      if (found.a !== null) return { answer: found.a, replay: true }
      // The first request may still deliver: "nothing was delivered" would not be true.
      if (Date.now() > deadline) throw new GW_ERR_PUBLISH_OUTCOME_UNKNOWN('a request with this Idempotency-Key is still being handled on another node')
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }

  async function handleClaimed (id: string, fingerprint: string, handle: () => Promise<StoredAnswer>): Promise<StoredAnswer> {
    let answer: StoredAnswer
    try {
      answer = await handle()
    } catch (err) {
      await redis.del(id).catch(() => {})
      throw err
    }
    if (answer.status >= 200 && answer.status < 300) {
      // Delivered: the answer stands even if Redis went away just now (the claim then expires
      // and a retry after it may deliver again: at least once, never a 2xx for nothing).
      const stored: Stored = { f: fingerprint, a: answer }
      await redis.set(id, JSON.stringify(stored), 'PX', windowMs).catch(() => {})
    } else {
      await redis.del(id).catch(() => {})
    }
    return answer
  }

  return {
    async run (holder, key, fingerprint, handle) {
      const id = `${options.prefix}idem:${holder}:${key}`
      const pending = local.get(id)
      if (pending !== undefined) {
        if (pending.fingerprint !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
        const { answer } = await pending.result
        return { answer, replay: true }
      }
      const result = attempt(id, key, fingerprint, handle)
      local.set(id, { fingerprint, result })
      try {
        return await result
      } finally {
        local.delete(id)
      }
    }
  }
}
